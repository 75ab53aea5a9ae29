/**
 * The event stream publisher: reads the events after its durable cursor that the feedback
 * service has applied (so the document's log state is final for them), builds the same
 * documents as webhooks (webhooks/documents.ts), publishes each to `<prefix>.<type>` with its
 * event id as Nats-Msg-Id, waits for JetStream's acknowledgements and only then moves the
 * cursor: at least once, and a restart resends at most the batch in flight, which JetStream's
 * duplicate window drops. When NATS does not answer it tries again 1 s later, doubling up to
 * `retryMaxMs`, in its own loop: nothing else waits for it. A lease in the settings table
 * keeps one process publishing. Not here: NATS itself (jetstream.ts), the rows (cursor.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import { backoffDelay } from '../lib/backoff.ts';
import { startLoop, type Loop } from '../lib/wakeup.ts';
import { buildDocuments, type RawEvent } from '../webhooks/index.ts';
import { advanceCursor, claimLease, readCursor, releaseLease } from './cursor.ts';
import { JetStreamLink, type JetStreamTarget } from './jetstream.ts';

export interface EventStreamOptions extends JetStreamTarget {
  db: Db;
  logger: Logger;
  /** The instance secret: signs the Message-IDs the documents carry. */
  secret: string;
  /** Events per batch of publishes at most. */
  batchSize: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** How often the events table is looked at when nothing woke the loop. */
  pollMs?: number;
  /** As the webhook dispatcher's (dispatcher.ts): on PostgreSQL an applied event waits 2 s. */
  settleMs?: number;
  leaseMs?: number;
}

export interface EventStreamStats {
  published: number;
  duplicates: number;
  failures: number;
  cursor: number | null;
  connected: boolean;
}

export class EventStreamPublisher {
  private loop: Loop | null = null;
  private readonly link: JetStreamLink;
  private readonly owner = `eventstream-${process.pid}-${randomBytes(4).toString('hex')}`;
  private leaseUntil = 0;
  private failuresInRow = 0;
  private nextAttemptAt = 0;
  readonly stats: EventStreamStats = { published: 0, duplicates: 0, failures: 0, cursor: null, connected: false };

  constructor(private readonly o: EventStreamOptions) {
    this.link = new JetStreamLink(o);
  }

  start(): void {
    this.loop = startLoop(() => this.step(), { idleMs: this.o.pollMs ?? 1000, onError: (err) => this.o.logger.error({ err }, 'event stream loop failed') });
  }

  wake(): void {
    this.loop?.wake();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
    this.loop = null;
    if (this.leaseUntil > 0) await releaseLease(this.o.db.kysely, this.owner).catch(() => {});
    this.leaseUntil = 0;
    await this.link.close();
    this.stats.connected = false;
  }

  private leaseMs(): number {
    return this.o.leaseMs ?? Math.max(30_000, 3 * this.o.timeoutMs);
  }

  /** One batch; true when there may be more right away. */
  async step(): Promise<boolean> {
    const now = Date.now();
    if (now < this.nextAttemptAt) return false;
    const q = this.o.db.kysely;
    // Renewed at a third of its length, so a publishing process never lets it lapse.
    if (this.leaseUntil - now < (2 * this.leaseMs()) / 3) {
      const until = now + this.leaseMs();
      if (!(await claimLease(q, this.owner, now, until))) {
        this.leaseUntil = 0;
        return false;
      }
      this.leaseUntil = until;
    }
    const cursor = await readCursor(q);
    this.stats.cursor = cursor;
    const rows = await q
      .selectFrom('events')
      .select(['id', 'type', 'log_id', 'delivery_id', 'occurred_at', 'payload', 'note', 'applied_at'])
      .where('id', '>', cursor)
      .orderBy('id')
      .limit(this.o.batchSize)
      .execute();
    // Up to the first event not applied (or applied too recently): later ones wait for it.
    const settled = now - (this.o.settleMs ?? (this.o.db.dialect === 'postgres' ? 2000 : 0));
    const ready: RawEvent[] = [];
    for (const r of rows) {
      if (r.applied_at === null || Number(r.applied_at) > settled) break;
      ready.push(r as RawEvent);
    }
    if (!ready.length) return false;
    try {
      await this.link.open();
      this.stats.connected = true;
      const docs = await buildDocuments(q, this.o.secret, ready);
      const { duplicates } = await this.link.publish(docs);
      this.stats.published += docs.length - duplicates;
      this.stats.duplicates += duplicates;
    } catch (err) {
      this.failed(err);
      return false;
    }
    if (this.failuresInRow > 0) this.o.logger.info({ failures: this.failuresInRow }, 'event stream: NATS answers again, publishing');
    this.failuresInRow = 0;
    const to = Number(ready[ready.length - 1].id);
    // Another process moved it (its lease ran out while we were slow): what we sent is
    // deduplicated by JetStream, and the cursor is read again next time.
    if (await advanceCursor(q, cursor, to)) this.stats.cursor = to;
    return ready.length === this.o.batchSize;
  }

  private failed(err: unknown): void {
    this.failuresInRow++;
    this.stats.failures++;
    this.stats.connected = false;
    const delay = backoffDelay({ initialMs: this.o.retryInitialMs, factor: 2, maxMs: this.o.retryMaxMs }, this.failuresInRow);
    this.nextAttemptAt = Date.now() + delay;
    // Once at the first failure, then every tenth, so an outage does not fill the log.
    if (this.failuresInRow === 1 || this.failuresInRow % 10 === 0) {
      this.o.logger.warn({ err: (err as Error).message, failures: this.failuresInRow, retryInMs: delay }, 'event stream: publishing to NATS failed; trying again later');
    }
    void this.link.close();
  }
}
