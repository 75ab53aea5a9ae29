/**
 * Opens the database named by a URL (database-url.ts: `sqlite:PATH` or `postgres://...`,
 * anything else refused in words): SQLite through better-sqlite3 in WAL mode, PostgreSQL
 * through a pg pool once the server answers, behind one Kysely query builder. Runs pending migrations unless told not to. A SQLite file or folder it may
 * not write is refused at once, with a message in words (sqlite-access.ts).
 */
import { resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import type { Database } from './schema.ts';
import { CommitTracker, GroupCommitSqliteDialect, statementWrites, WalFlusher } from './sqlite-group-commit.ts';
import { WalCheckpointer } from './wal-checkpointer.ts';
import { profiledStatement, statementProfileEnabled } from './statement-profile.ts';
import { migrateToLatest } from './migrate.ts';
import { ensureSqliteFolder, probeWritable, sqliteOpenError } from './sqlite-access.ts';
import { parseDatabaseUrl, waitForPostgres } from './database-url.ts';

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
   * Runs writes whose commits need not wait for the disk, because a restart redoes or undoes
   * them anyway (the MTA's leases). On SQLite they return without waiting for the log flush;
   * the next durable commit flushes them too, in order. On PostgreSQL they run as usual.
   * Keep `fn` to single statements: a transaction held open across awaits would block a
   * second SQLite connection in the same thread.
   */
  volatile<T>(fn: (q: Q) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenOptions {
  migrate?: boolean;
  /** SQLite synchronous mode: FULL survives power loss, NORMAL survives a process crash only. */
  sqliteSynchronous?: 'FULL' | 'NORMAL';
  poolSize?: number;
  /** Told while a PostgreSQL server that does not answer yet is waited for. */
  onWait?: (message: string) => void;
  /** How long to wait for PostgreSQL to answer (default 5 s). */
  waitMs?: number;
}

export async function openDatabase(url: string, options: OpenOptions = {}): Promise<Db> {
  const target = parseDatabaseUrl(url);
  const dialect: Dialect = target.dialect;
  if (target.dialect === 'postgres') await waitForPostgres(target, { waitMs: options.waitMs, onRetry: options.onWait });
  const sqlite = target.dialect === 'sqlite' ? openSqlite(target.file, options) : null;
  const kysely = sqlite ? sqlite.kysely : openPostgres(url, options);
  const db: Db = {
    kysely,
    dialect,
    url,
    tx: (fn) => kysely.transaction().execute(fn),
    volatile: (fn) => (sqlite ? volatileSqlite(kysely, sqlite.tracker, fn) : fn(kysely)),
    close: () => kysely.destroy(),
  };
  if (options.migrate !== false) await migrateToLatest(db);
  return db;
}

function openSqlite(file: string, options: OpenOptions): { kysely: Kysely<Database>; tracker: CommitTracker } {
  if (file !== ':memory:') ensureSqliteFolder(resolve(file));
  let sqlite: BetterSqlite3.Database | null = null;
  let wal: boolean;
  try {
    sqlite = new BetterSqlite3(file);
    wal = preparePragmas(sqlite, file);
    sqlite.pragma('busy_timeout = 10000');
    if (file !== ':memory:') probeWritable(sqlite);
  } catch (err) {
    sqlite?.close();
    // A file or folder Estafeta may not write: say which, and what to do, in words.
    throw sqliteOpenError(resolve(file), err);
  }
  const level = options.sqliteSynchronous ?? 'FULL';
  // In WAL mode FULL durability is kept by flushing the log off the main thread
  // (sqlite-group-commit.ts), and SQLite itself commits without the flush.
  sqlite.pragma(`synchronous = ${wal ? 'NORMAL' : level}`);
  sqlite.pragma('foreign_keys = ON');
  const tracker = new CommitTracker(wal && level === 'FULL' ? new WalFlusher(`${resolve(file)}-wal`) : null, wal ? checkpointer(sqlite, resolve(file)) : null);
  // Kysely prepares every statement it runs; reuse prepared statements by SQL text, because
  // the hot paths (spool, logs, events) run the same few statements thousands of times.
  const cache = new Map<string, TrackedStatement>();
  const profile = statementProfileEnabled();
  const database = {
    close: () => sqlite.close(),
    prepare(sqlText: string) {
      let stmt = cache.get(sqlText);
      if (!stmt) {
        stmt = trackStatement(sqlite.prepare(sqlText), statementWrites(sqlText), tracker);
        if (profile) stmt = profiledStatement(sqlText, stmt);
        if (cache.size > 2000) cache.delete(cache.keys().next().value as string);
        cache.set(sqlText, stmt);
      }
      return stmt;
    },
  };
  return { kysely: new Kysely<Database>({ dialect: new GroupCommitSqliteDialect({ database: database as never }, tracker) }), tracker };
}

/** Sets the page size and the journal mode; true when the database is in WAL mode. */
function preparePragmas(sqlite: BetterSqlite3.Database, file: string): boolean {
  // Pages of 64 KB for a new file (an existing one keeps its own): a 10 KB message body
  // fits in one page instead of spilling over three, and each commit writes a few large
  // log frames instead of many small ones. In the benchmark (docs/PERFORMANCE.md) the main
  // thread spent 14 % less time in SQLite, and the million-recipient import and analysis
  // took 13 to 15 % less time than with 4 KB pages.
  sqlite.pragma('page_size = 65536');
  // A file system without shared memory (some network mounts) refuses WAL; SQLite then keeps
  // its rollback journal and must flush inside its commits itself.
  return sqlite.pragma('journal_mode = WAL', { simple: true }) === 'wal' && file !== ':memory:';
}

/** Checkpoints in a worker thread; SQLite's own only past 64 MB of log, or again if the worker fails. */
function checkpointer(sqlite: BetterSqlite3.Database, file: string): WalCheckpointer {
  sqlite.pragma('wal_autocheckpoint = 16384');
  return new WalCheckpointer(file, (err) => {
    sqlite.pragma('wal_autocheckpoint = 1000');
    process.emitWarning(`${err.message}; SQLite checkpoints on the main thread again`);
  });
}

type TrackedStatement = Pick<BetterSqlite3.Statement, 'reader' | 'all' | 'run' | 'iterate'>;

/** The statement as Kysely uses it, reporting its writes to the tracker. */
function trackStatement(stmt: BetterSqlite3.Statement, writes: boolean, tracker: CommitTracker): TrackedStatement {
  if (!writes) return stmt;
  return {
    reader: stmt.reader,
    all: (...args: unknown[]) => {
      tracker.wrote();
      return stmt.all(...args);
    },
    run: (...args: unknown[]) => {
      tracker.wrote();
      return stmt.run(...args);
    },
    iterate: (...args: unknown[]) => stmt.iterate(...args),
  } as TrackedStatement;
}

/** Runs `fn` on the one connection, marked so that its writes do not wait for the log flush. */
async function volatileSqlite<T>(kysely: Kysely<Database>, tracker: CommitTracker, fn: (q: Q) => Promise<T>): Promise<T> {
  return kysely.connection().execute(async (conn) => {
    tracker.markVolatile();
    return fn(conn);
  });
}

function openPostgres(url: string, options: OpenOptions): Kysely<Database> {
  // bigint (int8) and numeric come back as strings by default; our ids, counts and epoch-ms
  // timestamps all fit in a double.
  pg.types.setTypeParser(20, (v) => Number(v));
  pg.types.setTypeParser(1700, (v) => Number(v));
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  // Spooled message bodies (10 KB and more) are compressed as they are stored out of line:
  // with the default pglz that was a sixth of the server's CPU in `npm run bench`, lz4 does
  // it several times faster (docs/PERFORMANCE.md). Queued before the connection's first
  // query; a server without lz4 (older than 14, or built without it) refuses it and keeps its own.
  pool.on('connect', (client) => {
    client.query('set default_toast_compression = lz4').catch(() => {});
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
