/**
 * Starts a whole Estafeta in-process for a test, on a fresh database (SQLite, or a fresh
 * PostgreSQL schema when DATABASE_URL says so), with a test DNS server and a short retry
 * policy, and gives a small HTTP client for its API. The client sends an admin API key
 * created for the test; `as(key)` gives one that sends another key (or none: `as(null)`).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, type ConfigInput } from '../../src/config/index.ts';
import { startEstafeta, type App } from '../../src/app/start.ts';
import { createTestDatabaseUrl } from '../../src/db/testing.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { createApiKey } from '../../src/auth/index.ts';

const TEST_TLS_DIR = mkdtempSync(join(tmpdir(), 'estafeta-submission-tls-'));

/** The bootstrap admin's password in tests (no generated password is printed). */
export const TEST_ADMIN_PASSWORD = 'test-admin-password';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ApiCall = <T = any>(method: string, path: string, body?: unknown, contentType?: string) => Promise<{ status: number; body: T }>;

export interface TestEstafeta {
  app: App;
  api: ApiCall;
  /** The same client with another API key, or without credentials. */
  as(key: string | null): ApiCall;
  adminKey: string;
  stop(): Promise<void>;
}

/** Retry quickly in tests: soft categories retry after a second instead of minutes. */
export function fastRetryPolicyDir(extraFiles: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-policy-'));
  for (const [name, text] of Object.entries(extraFiles)) writeFileSync(join(dir, name), text);
  const fast = { initial: '1s', factor: 1, max: '1s' };
  const categories: Record<string, unknown> = {};
  for (const c of ['greylisted', 'transient', 'rate-limited', 'connection', 'mailbox-full', 'bad-domain', 'inactive-mailbox', 'undetermined', 'spam-block', 'policy', 'tls']) categories[c] = { retry: fast };
  writeFileSync(join(dir, 'bounce-categories.yaml'), JSON.stringify({ categories }));
  return dir;
}

export async function startTestEstafeta(overrides: ConfigInput = {}): Promise<TestEstafeta> {
  const database = await createTestDatabaseUrl();
  const config = configSchema.parse({
    ...overrides,
    database: { url: database.url },
    http: { host: '127.0.0.1', port: 0, ...overrides.http },
    log: { level: 'silent' },
    policy: { dir: fastRetryPolicyDir(), ...overrides.policy },
    mta: { heloName: 'estafeta.test', connectTimeout: '3s', commandTimeout: '10s', ...overrides.mta },
    // An ephemeral port for the bounce listener so test files can run side by side.
    bounces: { ...overrides.bounces, listen: { host: '127.0.0.1', port: 0, ...overrides.bounces?.listen } },
    // SMTP submission too, with a self-signed certificate generated once per test process.
    submission: { ...overrides.submission, listen: { host: '127.0.0.1', port: 0, ...overrides.submission?.listen }, tls: { dir: TEST_TLS_DIR, ...overrides.submission?.tls } },
  });
  process.env.ESTAFETA_ADMIN_PASSWORD ??= TEST_ADMIN_PASSWORD;
  const app = await startEstafeta(config, { logger: silentLogger });
  const adminKey = (await createApiKey(app.db.kysely, { name: 'test-admin', role: 'admin', createdBy: 'test' })).key;
  const as = (key: string | null): ApiCall => async (method, path, body, contentType = 'application/json') => {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': contentType };
    if (key) headers.authorization = `Bearer ${key}`;
    const res = await fetch(`${app.url}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : contentType === 'application/json' ? JSON.stringify(body) : String(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return {
    app,
    api: as(adminKey),
    as,
    adminKey,
    async stop() {
      await app.stop();
      await database.cleanup();
    },
  };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    last = await fn();
    if (last) return last as T;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}
