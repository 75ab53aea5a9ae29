/**
 * Reads the database URL: `sqlite:PATH` (an embedded file; `sqlite::memory:` for a database
 * that lives as long as the process) or `postgres://` / `postgresql://` (a server). Anything
 * else is an error that names DATABASE_URL and shows the two forms, instead of being taken
 * as a SQLite file name (`mysql://…` once made a folder called `mysql:`). Also waits a few
 * seconds for a PostgreSQL server that does not answer yet, then says which host and port.
 */
import pg from 'pg';
import { EstafetaError } from '../lib/errors.ts';

export type DatabaseTarget = { dialect: 'sqlite'; file: string } | { dialect: 'postgres'; url: string; host: string; port: number; database: string };

const FORMS = 'sqlite:PATH (for example sqlite:./data/estafeta.db) or postgres://USER:PASSWORD@HOST:PORT/DATABASE';
const SETTING = 'DATABASE_URL (database.url in the configuration file, or --database)';

function invalid(why: string): EstafetaError {
  return new EstafetaError('CONFIG', `${SETTING} ${why}; it must be ${FORMS}.`);
}

export function parseDatabaseUrl(url: string): DatabaseTarget {
  const text = url.trim();
  if (/^postgres(ql)?:\/\//i.test(text)) {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      throw invalid(`is not a valid PostgreSQL URL ("${redact(text)}")`);
    }
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
    return { dialect: 'postgres', url: text, host: parsed.hostname || 'localhost', port: Number(parsed.port || 5432), database: database || parsed.username || 'postgres' };
  }
  const m = /^sqlite:(?:\/\/)?(.*)$/i.exec(text);
  if (m) {
    if (!m[1].trim()) throw invalid('says sqlite: but names no file');
    return { dialect: 'sqlite', file: m[1] };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1];
  if (scheme) throw invalid(`is a ${scheme}: URL, which Estafeta does not use ("${redact(text)}")`);
  throw invalid(`is "${text}", which is neither`);
}

/** Hides a password in a URL shown in an error. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/**
 * Waits until the PostgreSQL server answers, retrying for up to `waitMs` (it may still be
 * starting, as in a container), telling `onRetry` each time; then fails naming host and port.
 */
export async function waitForPostgres(target: Extract<DatabaseTarget, { dialect: 'postgres' }>, options: { waitMs?: number; onRetry?: (message: string) => void } = {}): Promise<void> {
  const until = Date.now() + (options.waitMs ?? 5000);
  let last: Error | null = null;
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({ connectionString: target.url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      last = err as Error;
      await client.end().catch(() => {});
      // A refused password or a missing database will not get better by waiting.
      const code = (err as { code?: string }).code ?? '';
      if (/^(28|3D)/.test(code)) break;
    }
    if (Date.now() >= until) break;
    options.onRetry?.(`PostgreSQL at ${target.host}:${target.port} does not answer yet (${last.message}); trying again`);
    await new Promise((r) => setTimeout(r, Math.min(1000, 250 * attempt)));
  }
  throw new EstafetaError('CONFIG', `Cannot reach the PostgreSQL database ${target.database} at ${target.host}:${target.port}: ${last?.message ?? 'no answer'}. Check that the server runs and accepts connections from here, or change ${SETTING}.`);
}
