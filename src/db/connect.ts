/**
 * Opens the database named by a URL: `sqlite:/path/file.db` (or a bare path) through
 * better-sqlite3 in WAL mode, or `postgres://...` through a pg pool, behind one Kysely
 * query builder. Runs pending migrations unless told not to.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import type { Database } from './schema.ts';
import { migrateToLatest } from './migrate.ts';

export type Dialect = 'sqlite' | 'postgres';
/** A query builder that is either the database or an open transaction. */
export type Q = Kysely<Database> | Transaction<Database>;

export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  url: string;
  /** Runs `fn` in one transaction: the state change and the event it causes commit together. */
  tx<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  /**
   * A transaction whose commit need not survive a power loss, for writes that a restart
   * redoes or undoes anyway (the MTA's leases): SQLite commits it without a disk flush,
   * PostgreSQL with synchronous_commit off. A crash of the process loses nothing either
   * way; a power loss (or, on PostgreSQL, a server crash) can lose only such commits, never
   * the durable ones after them.
   */
  volatileTx<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenOptions {
  migrate?: boolean;
  /** SQLite synchronous mode: FULL survives power loss, NORMAL survives a process crash only. */
  sqliteSynchronous?: 'FULL' | 'NORMAL';
  poolSize?: number;
}

export async function openDatabase(url: string, options: OpenOptions = {}): Promise<Db> {
  const dialect: Dialect = /^postgres(ql)?:\/\//.test(url) ? 'postgres' : 'sqlite';
  const kysely = dialect === 'postgres' ? openPostgres(url, options) : openSqlite(url, options);
  const db: Db = {
    kysely,
    dialect,
    url,
    tx: (fn) => kysely.transaction().execute(fn),
    volatileTx: (fn) => (dialect === 'postgres' ? volatilePostgresTx(kysely, fn) : volatileSqliteTx(kysely, options.sqliteSynchronous ?? 'FULL', fn)),
    close: () => kysely.destroy(),
  };
  if (options.migrate !== false) await migrateToLatest(db);
  return db;
}

function openSqlite(url: string, options: OpenOptions): Kysely<Database> {
  const file = url.replace(/^sqlite:(\/\/)?/, '');
  if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true });
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${options.sqliteSynchronous ?? 'FULL'}`);
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
  // Kysely prepares every statement it runs; reuse prepared statements by SQL text, because
  // the hot paths (spool, logs, events) run the same few statements thousands of times.
  const cache = new Map<string, BetterSqlite3.Statement>();
  const database = {
    close: () => sqlite.close(),
    prepare(sqlText: string) {
      let stmt = cache.get(sqlText);
      if (!stmt) {
        stmt = sqlite.prepare(sqlText);
        if (cache.size > 2000) cache.delete(cache.keys().next().value as string);
        cache.set(sqlText, stmt);
      }
      return stmt;
    },
  };
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: database as never }) });
}

async function volatilePostgresTx<T>(kysely: Kysely<Database>, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return kysely.transaction().execute(async (trx) => {
    await sql`set local synchronous_commit to off`.execute(trx);
    return fn(trx);
  });
}

/**
 * SQLite cannot change its safety level inside a transaction, so the switch happens around
 * it while this caller holds the only connection: no other commit can run with it lowered.
 * In WAL mode the next synchronous commit flushes these frames too, in order.
 */
async function volatileSqliteTx<T>(kysely: Kysely<Database>, level: 'FULL' | 'NORMAL', fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  if (level === 'NORMAL') return kysely.transaction().execute(fn);
  return kysely.connection().execute(async (conn) => {
    await sql`pragma synchronous = NORMAL`.execute(conn);
    try {
      return await conn.transaction().execute(fn);
    } finally {
      await sql.raw(`pragma synchronous = ${level}`).execute(conn);
    }
  });
}

function openPostgres(url: string, options: OpenOptions): Kysely<Database> {
  // bigint (int8) and numeric come back as strings by default; our ids, counts and epoch-ms
  // timestamps all fit in a double.
  pg.types.setTypeParser(20, (v) => Number(v));
  pg.types.setTypeParser(1700, (v) => Number(v));
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
