/**
 * Starts Estafeta as its own process for the benchmark (`estafeta start` with the Node flags
 * that `npm start` and bin/estafeta.js give it, all roles, a fresh SQLite file with
 * synchronous commits, as in production), with an admin API key made beforehand, a DNS
 * server address and an MX port; and a small API client for it. ESTAFETA_BENCH_NODE_ARGS
 * adds Node flags after those, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it, or
 * "--max-semi-space-size=16" to run it with Node's default young generation.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/db/index.ts';
import { createApiKey } from '../../src/auth/index.ts';
import { freePort, sleep, startDaemon, stopDaemon } from './proc.ts';

export interface EstafetaChild {
  pid: number;
  url: string;
  dbFile: string;
  api<T = any>(method: string, path: string, body?: unknown): Promise<T>; // eslint-disable-line @typescript-eslint/no-explicit-any
  stop(): Promise<void>;
}

export async function startEstafetaChild(options: { dnsServer: string; mxPort: number; policyFiles: Record<string, string> }): Promise<EstafetaChild> {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-bench-'));
  const dbFile = join(dir, 'estafeta.db');
  const policyDir = join(dir, 'policy');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(policyDir);
  for (const [name, text] of Object.entries(options.policyFiles)) writeFileSync(join(policyDir, name), text);
  const db = await openDatabase(`sqlite:${dbFile}`);
  const { key } = await createApiKey(db.kysely, { name: 'bench', role: 'admin', createdBy: 'bench' });
  await db.close();
  const port = await freePort();
  const child = startDaemon(process.execPath, ['--max-semi-space-size=64', ...(process.env.ESTAFETA_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', 'src/cli/main.ts', 'start'], {
    ...process.env,
    DATABASE_URL: `sqlite:${dbFile}`,
    ESTAFETA_HTTP_PORT: String(port),
    ESTAFETA_DNS_SERVERS: options.dnsServer,
    ESTAFETA_MX_PORT: String(options.mxPort),
    ESTAFETA_BOUNCE_PORT: String(await freePort()),
    ESTAFETA_POLICY_DIR: policyDir,
    ESTAFETA_LOG_LEVEL: 'warn',
    ESTAFETA_HELO_NAME: 'bench.estafeta.test',
    ESTAFETA_ADMIN_PASSWORD: 'bench-admin-password',
  });
  const url = `http://127.0.0.1:${port}`;
  const api = async (method: string, path: string, body?: unknown) => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`Estafeta exited (${child.exitCode ?? child.signalCode}):\n${child.output()}`);
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  };
  for (let i = 0; ; i++) {
    try {
      await api('GET', '/health');
      break;
    } catch (err) {
      if (i > 150 || child.exitCode !== null) throw new Error(`Estafeta did not start: ${(err as Error).message}`);
      await sleep(200);
    }
  }
  return { pid: child.pid!, url, dbFile, api, stop: () => stopDaemon(child) };
}
