/**
 * Estafeta as a separate process for tests that kill it or run several of it: `estafeta
 * start` with the given roles and environment, an API key made beforehand in its database,
 * and kill -9.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { openDatabase, type Q } from '../../src/db/index.ts';
import { createApiKey } from '../../src/auth/index.ts';

export interface Child {
  url: string | null;
  process: ChildProcess;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** What it printed so far (stdout and stderr). */
  output(): string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs `fn` on the database at `url` (migrating it first), then closes it. */
export async function withDatabase<T>(url: string, fn: (q: Q) => Promise<T>): Promise<T> {
  const db = await openDatabase(url);
  try {
    return await fn(db.kysely);
  } finally {
    await db.close();
  }
}

/** Makes an admin API key in the database at `url`. */
export async function apiKeyFor(url: string): Promise<string> {
  return withDatabase(url, async (q) => (await createApiKey(q, { name: `child-${Math.random().toString(36).slice(2, 8)}`, role: 'admin', createdBy: 'test' })).key);
}

export async function startChild(env: Record<string, string>, key: string, roles = 'api,sender,mta,inbound,feedback'): Promise<Child> {
  const port = roles.includes('api') ? await freeTcpPort() : 0;
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start'], {
    env: { ...process.env, ESTAFETA_ROLES: roles, ESTAFETA_HTTP_PORT: String(port), ESTAFETA_LOG_LEVEL: 'warn', ESTAFETA_ADMIN_PASSWORD: 'child-admin-password', ESTAFETA_BOUNCE_PORT: String(await freeTcpPort()), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  p.stdout!.on('data', (d) => (output += d));
  p.stderr!.on('data', (d) => (output += d));
  const url = port ? `http://127.0.0.1:${port}` : null;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  if (url) {
    for (let i = 0; ; i++) {
      try {
        if ((await api('GET', '/health')).status === 200) break;
      } catch {
        /* not up yet */
      }
      if (i > 200 || p.exitCode !== null) throw new Error(`estafeta did not start:\n${output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } else {
    await new Promise((r) => setTimeout(r, 1500));
    if (p.exitCode !== null) throw new Error(`estafeta exited:\n${output.slice(-2000)}`);
  }
  return {
    url,
    process: p,
    api,
    output: () => output,
    async kill9() {
      p.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (p.exitCode === null) p.kill('SIGTERM');
      await exited;
      if (process.env.ESTAFETA_TEST_CHILD_OUTPUT) process.stderr.write(`--- ${roles} output:\n${output.slice(-5000)}\n`);
    },
  };
}
