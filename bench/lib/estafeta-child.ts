/**
 * Starts Estafeta as its own process for the benchmark (`estafeta start` with the Node flags
 * that `npm start` and bin/estafeta.js give it, all roles, a fresh SQLite file with
 * synchronous commits, as in production), with an admin API key made beforehand, a DNS
 * server address and an MX port; and a small API client for it. ESTAFETA_BENCH_NODE_ARGS
 * adds Node flags after those, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it, or
 * "--max-semi-space-size=16" to run it with Node's default young generation.
 * With `databaseUrl` it uses that database (a PostgreSQL schema the caller made) instead of a
 * new SQLite file; with `roles` it runs only those (`ESTAFETA_ROLES`), and without the api
 * role it has no API: `api` then refuses, and the caller waits on the database instead.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/db/index.ts';
import { createApiKey } from '../../src/auth/index.ts';
import { freePort, sleep, startDaemon, stopDaemon } from './proc.ts';

export interface EstafetaChild {
  pid: number;
  url: string;
  /** The SQLite file, or '' on PostgreSQL. */
  dbFile: string;
  databaseUrl: string;
  api<T = any>(method: string, path: string, body?: unknown): Promise<T>; // eslint-disable-line @typescript-eslint/no-explicit-any
  stop(): Promise<void>;
}

export async function startEstafetaChild(options: { dnsServer: string; mxPort: number; policyFiles: Record<string, string>; databaseUrl?: string; roles?: string[]; /** mta.localAddress: the address it sends from (e.g. 127.0.0.2, to tell nodes apart in the events). */ localAddress?: string }): Promise<EstafetaChild> {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-bench-'));
  const dbFile = options.databaseUrl ? '' : join(dir, 'estafeta.db');
  const databaseUrl = options.databaseUrl ?? `sqlite:${dbFile}`;
  const withApi = !options.roles || options.roles.includes('api');
  const policyDir = join(dir, 'policy');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(policyDir);
  for (const [name, text] of Object.entries(options.policyFiles)) writeFileSync(join(policyDir, name), text);
  const db = await openDatabase(databaseUrl);
  const key = withApi ? (await createApiKey(db.kysely, { name: 'bench', role: 'admin', createdBy: 'bench' })).key : '';
  const mtaBefore = await mtaProcesses(db);
  await db.close();
  const config = join(dir, 'estafeta.yaml');
  writeFileSync(config, options.localAddress ? `mta:\n  localAddress: ${options.localAddress}\n` : '{}\n');
  const port = await freePort();
  const child = startDaemon(process.execPath, ['--max-semi-space-size=64', ...(process.env.ESTAFETA_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', 'src/cli/main.ts', 'start'], {
    ...process.env,
    ESTAFETA_CONFIG: config,
    DATABASE_URL: databaseUrl,
    ...(options.roles ? { ESTAFETA_ROLES: options.roles.join(',') } : {}),
    ESTAFETA_HTTP_PORT: String(port),
    ESTAFETA_DNS_SERVERS: options.dnsServer,
    ESTAFETA_MX_PORT: String(options.mxPort),
    ESTAFETA_BOUNCE_PORT: String(await freePort()),
    ESTAFETA_SUBMISSION_PORT: String(await freePort()),
    ESTAFETA_POLICY_DIR: policyDir,
    ESTAFETA_LOG_LEVEL: 'warn',
    ESTAFETA_HELO_NAME: 'bench.estafeta.test',
    ESTAFETA_ADMIN_PASSWORD: 'bench-admin-password',
  });
  const url = `http://127.0.0.1:${port}`;
  const api = async (method: string, path: string, body?: unknown) => {
    if (!withApi) throw new Error('this Estafeta runs no api role');
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
  for (let i = 0; withApi; i++) {
    try {
      await api('GET', '/health');
      break;
    } catch (err) {
      if (i > 150 || child.exitCode !== null) throw new Error(`Estafeta did not start: ${(err as Error).message}`);
      await sleep(200);
    }
  }
  if (!withApi) await waitForMtaHeartbeat(databaseUrl, child, mtaBefore);
  return { pid: child.pid!, url, dbFile, databaseUrl, api, stop: () => stopDaemon(child) };
}

async function mtaProcesses(db: Db): Promise<number> {
  return Number((await db.kysely.selectFrom('mta_processes').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
}

/** Waits until more MTA processes than before it was spawned have a heartbeat row: the new one has started. */
async function waitForMtaHeartbeat(databaseUrl: string, child: ReturnType<typeof startDaemon>, before: number): Promise<void> {
  const db = await openDatabase(databaseUrl, { migrate: false });
  try {
    for (let i = 0; (await mtaProcesses(db)) <= before; i++) {
      if (i > 150 || child.exitCode !== null) throw new Error(`Estafeta (no api) did not start:\n${child.output()}`);
      await sleep(200);
    }
  } finally {
    await db.close();
  }
}
