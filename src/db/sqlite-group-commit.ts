/**
 * Durable SQLite commits that do not stop the event loop. SQLite in WAL mode with
 * `synchronous = FULL` flushes the log to disk inside every COMMIT, and better-sqlite3 runs
 * on the main thread, so each commit froze the whole process (SMTP sessions, the API) for the
 * flush: 3 to 20 ms each on this kind of disk. Here SQLite commits without flushing
 * (`synchronous = NORMAL`, which keeps the database consistent after a power loss), and the
 * log is flushed by `fsync` on libuv's thread pool before Kysely hands the result back: a
 * query or transaction that wrote resolves only once its commit is on disk, as before, and
 * commits that finish while a flush runs share the next one (group commit).
 *
 * Writes made through `volatile` (leases, which a restart undoes anyway) do not wait; the
 * next durable commit's flush covers them, in order, because the log is append-only.
 * Not here: opening the database and setting its pragmas (connect.ts), checkpoints
 * (wal-checkpointer.ts), PostgreSQL.
 */
import { closeSync, fsync, openSync } from 'node:fs';
import { promisify } from 'node:util';
import type { WalCheckpointer } from './wal-checkpointer.ts';
import { SqliteDialect, type DatabaseConnection, type Driver, type SqliteDialectConfig, type TransactionSettings } from 'kysely';

const fsyncAsync = promisify(fsync);

/** Flushes the write-ahead log, one flush at a time, each covering every write before it began. */
export class WalFlusher {
  private fd: number | null = null;
  private dirty = false;
  private current: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(
    private readonly walPath: string,
    private readonly sync: (fd: number) => Promise<void> = fsyncAsync,
  ) {}

  markDirty(): void {
    this.dirty = true;
  }

  /** Resolves once every write made before this call is on disk. */
  flush(): Promise<void> {
    if (!this.current) return (this.current = this.run());
    // The running flush may have started before the caller's write: wait for the next one.
    this.next ??= this.current
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return (this.current ??= this.run());
      });
    return this.next;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private async run(): Promise<void> {
    try {
      if (!this.dirty) return;
      this.dirty = false;
      this.fd ??= openSync(this.walPath, 'r');
      await this.sync(this.fd);
    } catch (err) {
      this.dirty = true;
      throw err;
    } finally {
      this.current = null;
    }
  }
}

/** What the one SQLite connection did since it was last acquired. */
interface Lease {
  wrote: boolean;
  volatile: boolean;
}

/** Tracks writes per connection use; the statement wrapper and the driver share it. */
export class CommitTracker {
  lease: Lease = { wrote: false, volatile: false };
  constructor(
    readonly flusher: WalFlusher | null,
    readonly checkpointer: WalCheckpointer | null = null,
  ) {}

  wrote(): void {
    this.lease.wrote = true;
    this.flusher?.markDirty();
    this.checkpointer?.noteWrite();
  }

  /** The current connection use's writes need not wait for the disk. */
  markVolatile(): void {
    this.lease.volatile = true;
  }
}

const READ_ONLY = /^\s*(select|pragma|begin|explain)\b/i;

/** Whether a statement's SQL can change the database (and so needs a flush before its result). */
export function statementWrites(sqlText: string): boolean {
  return !READ_ONLY.test(sqlText);
}

/** Kysely's SQLite dialect, with results of writing queries held back until their commit is flushed. */
export class GroupCommitSqliteDialect extends SqliteDialect {
  constructor(
    config: SqliteDialectConfig,
    private readonly tracker: CommitTracker,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    const inner = super.createDriver();
    const tracker = this.tracker;
    return {
      init: () => inner.init(),
      async acquireConnection(): Promise<DatabaseConnection> {
        const connection = await inner.acquireConnection();
        tracker.lease = { wrote: false, volatile: false };
        return connection;
      },
      beginTransaction: (c: DatabaseConnection, s: TransactionSettings) => inner.beginTransaction(c, s),
      commitTransaction: (c: DatabaseConnection) => inner.commitTransaction(c),
      rollbackTransaction: (c: DatabaseConnection) => inner.rollbackTransaction(c),
      savepoint: inner.savepoint?.bind(inner),
      rollbackToSavepoint: inner.rollbackToSavepoint?.bind(inner),
      releaseSavepoint: inner.releaseSavepoint?.bind(inner),
      async releaseConnection(connection: DatabaseConnection): Promise<void> {
        const { wrote, volatile } = tracker.lease;
        // The connection is free for others while this caller waits for the disk.
        await inner.releaseConnection(connection);
        if (wrote && !volatile && tracker.flusher) await tracker.flusher.flush();
      },
      async destroy(): Promise<void> {
        await tracker.checkpointer?.close();
        tracker.flusher?.close();
        await inner.destroy();
      },
    };
  }
}
