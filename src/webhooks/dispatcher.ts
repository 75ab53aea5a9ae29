/**
 * The webhook dispatcher: for each enabled endpoint, reads the events after its durable
 * cursor that the feedback service has applied (so the log's state in the document is
 * final for them), posts them signed, up to `batchSize` per POST (a slow receiver gets
 * bigger batches, a quick one small ones), and moves the cursor only past events answered
 * with a 2xx. With `concurrency` above 1, a backlog bigger than one POST goes in up to that
 * many POSTs side by side, each for its own share of the messages (lanes.ts), so a receiver
 * that takes 200 ms per POST still keeps up, and each message's events still arrive in order.
 * A failure waits 1 s, doubling up to 1 h (retry.ts), and after `retryFor` without a 2xx the
 * endpoint is disabled with the reason and an error is logged. Endpoints are served side by
 * side, and a lease in the table keeps two processes off the same endpoint. Its own loop:
 * it never runs in, nor waits for, the MTA's; an error is logged and the loop goes on. */
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import { startLoop, type Loop } from '../lib/wakeup.ts';
import { buildDocuments, type RawEvent } from './documents.ts';
import { postSigned, type PostResult } from './post.ts';
import { planRound } from './lanes.ts';
import { givenUp, retryDelayMs, type RetryPolicy } from './retry.ts';
import { advanceCursor, claimEndpoint, disableEndpoint, dueEndpointIds, endpointTarget, recordAttempt, recordFailure, releaseEndpoint, renewLease, type EndpointTarget } from './store.ts';

export interface DispatcherOptions {
  db: Db;
  logger: Logger;
  /** The instance secret: opens the endpoints' sealed secrets and signs Message-IDs. */
  secret: string;
  timeoutMs: number;
  retry: RetryPolicy;
  /** Events per POST at most. */
  batchSize: number;
  /**
   * POSTs in flight at once per endpoint, each for its own share of the messages (1 by
   * default: one at a time, events in overall order). More lets a slow receiver keep up;
   * each message's events still arrive in order.
   */
  concurrency?: number;
  /** How often the table is looked at when nothing woke the loop. */
  pollMs?: number;
  /**
   * How long after being applied an event waits before it is sent. On PostgreSQL event ids
   * come from a sequence and two writers may commit out of id order: a later id applied
   * while an earlier one is still uncommitted would move the cursor past it. Writers'
   * transactions are short, so after this long the earlier one is visible (and, being
   * unapplied or applied later, stops the batch there). SQLite has one writer: 0.
   */
  settleMs?: number;
}

type Outcome = 'idle' | 'more' | 'failed';

/** Per endpoint, since the process started: POSTs answered 2xx, POSTs failed, events delivered. */
export interface DispatcherCounts {
  posts: number;
  failedPosts: number;
  events: number;
}

const WAKE_COALESCE_MS = 50;

export class WebhookDispatcher {
  private loop: Loop | null = null;
  private readonly serving = new Map<number, Promise<void>>();
  private stopping = false;
  private wakeTimer: NodeJS.Timeout | null = null;
  private readonly owner = `webhooks-${process.pid}-${randomBytes(4).toString('hex')}`;
  /** Per endpoint: events after its cursor that a receiver already took, for the cursor they were counted from. */
  private readonly acknowledged = new Map<number, { cursor: number; ids: Set<number> }>();
  /** Per endpoint, since this process started: POSTs answered 2xx, POSTs failed, events delivered. */
  readonly counts = new Map<number, DispatcherCounts>();

  constructor(private readonly o: DispatcherOptions) {}

  start(): void {
    this.loop = startLoop(() => this.step(), { idleMs: this.o.pollMs ?? 1000, onError: (err) => this.o.logger.error({ err }, 'webhook loop failed') });
  }

  /**
   * The feedback service calls this after every batch it applies, hundreds of times a second
   * while a delivery runs: the wakes of 50 ms are one look at the table, not one each.
   */
  wake(): void {
    if (this.wakeTimer || this.stopping) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.loop?.wake();
    }, WAKE_COALESCE_MS);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    await this.loop?.stop();
    await Promise.allSettled([...this.serving.values()]);
  }

  /** Starts serving every due endpoint not served yet; never waits for a receiver. */
  async step(): Promise<boolean> {
    const now = Date.now();
    for (const id of await dueEndpointIds(this.o.db.kysely, now)) {
      if (this.serving.has(id) || this.stopping) continue;
      if (!(await claimEndpoint(this.o.db.kysely, id, this.owner, now, now + this.leaseMs()))) continue;
      const serving = this.serve(id)
        .catch((err) => this.o.logger.error({ err, endpoint: id }, 'webhook endpoint not served'))
        .finally(() => {
          this.serving.delete(id);
          void releaseEndpoint(this.o.db.kysely, id, this.owner).catch(() => {}).finally(() => this.wake());
        });
      this.serving.set(id, serving);
    }
    return false;
  }

  private leaseMs(): number {
    return Math.max(60_000, 3 * this.o.timeoutMs);
  }

  /** Posts batch after batch to one endpoint until it has nothing more or fails. */
  private async serve(id: number): Promise<void> {
    while (!this.stopping) {
      let target: EndpointTarget | null;
      try {
        target = await endpointTarget(this.o.db.kysely, this.o.secret, id);
      } catch {
        return; // deleted meanwhile
      }
      if (!target) {
        await disableEndpoint(this.o.db.kysely, id, 'its secret does not open with this instance secret (was ESTAFETA_SECRET changed?)');
        this.o.logger.error({ endpoint: id }, 'webhook endpoint disabled: its secret does not open with the instance secret');
        return;
      }
      const outcome = await this.deliverOnce(target);
      if (outcome !== 'more') return;
      await renewLease(this.o.db.kysely, id, this.owner, Date.now() + this.leaseMs());
    }
  }

  /**
   * One round: up to `concurrency` POSTs side by side (one per lane, see lanes.ts), or one
   * move past events the filters do not want. All answered 2xx: the cursor moves past the
   * round. Some failed: it moves to just before the first failed event, the events the other
   * lanes delivered are remembered (not sent again while this process holds the endpoint),
   * and the endpoint waits out its backoff as after any failure.
   */
  async deliverOnce(t: EndpointTarget): Promise<Outcome> {
    const q = this.o.db.kysely;
    const lanes = Math.max(1, this.o.concurrency ?? 1);
    const scan = Math.max(500, this.o.batchSize * lanes * 2);
    const rows = await q
      .selectFrom('events')
      .select(['id', 'type', 'log_id', 'delivery_id', 'occurred_at', 'payload', 'note', 'applied_at'])
      .where('id', '>', t.cursor)
      .orderBy('id')
      .limit(scan)
      .execute();
    // Up to the first event not applied yet (or applied too recently, see settleMs): later
    // ones wait for it, so the order holds even when several feedback workers apply out of order.
    const settled = Date.now() - (this.o.settleMs ?? (this.o.db.dialect === 'postgres' ? 2000 : 0));
    const ready: RawEvent[] = [];
    for (const r of rows) {
      if (r.applied_at === null || Number(r.applied_at) > settled) break;
      ready.push(r as RawEvent);
    }
    if (!ready.length) return 'idle';
    let acked = this.acknowledged.get(t.id);
    // Remembered for another cursor (a replay, another process meanwhile): forgotten, so sent again.
    if (acked && acked.cursor !== t.cursor) acked = undefined;
    const wanted = (e: RawEvent) => (!t.eventTypes || t.eventTypes.has(e.type)) && (t.deliveryId === null || Number(e.delivery_id) === t.deliveryId);
    const { batches, upTo } = planRound(ready, wanted, acked?.ids ?? new Set(), lanes, this.o.batchSize);
    if (!batches.length) {
      this.remember(t.id, upTo, [...(acked?.ids ?? [])]);
      await advanceCursor(q, t.id, this.owner, t.cursor, upTo);
      return 'more';
    }
    const docs = new Map((await buildDocuments(q, this.o.secret, batches.flat())).map((d) => [d.id, d]));
    const results = await Promise.all(batches.map(async (batch) => {
      const body = JSON.stringify({ events: batch.map((e) => docs.get(Number(e.id))) });
      const result = await postSigned(t.url, t.secret, body, this.o.timeoutMs);
      await recordAttempt(q, { endpointId: t.id, firstEventId: Number(batch[0].id), lastEventId: Number(batch[batch.length - 1].id), events: batch.length, attempt: t.failures + 1, statusCode: result.statusCode, latencyMs: result.latencyMs, error: result.error, at: Date.now() });
      this.count(t.id, result.ok, batch.length);
      return result;
    }));
    const now = Date.now();
    const failedAt = batches.flatMap((b, i) => (results[i].ok ? [] : [Number(b[0].id)]));
    if (!failedAt.length) {
      this.remember(t.id, upTo, [...(acked?.ids ?? [])]);
      await advanceCursor(q, t.id, this.owner, t.cursor, upTo);
      return 'more';
    }
    const cursor = Math.min(...failedAt) - 1;
    this.remember(t.id, cursor, [...(acked?.ids ?? []), ...batches.flatMap((b, i) => (results[i].ok ? b.map((e) => Number(e.id)) : []))]);
    if (cursor > t.cursor) await advanceCursor(q, t.id, this.owner, t.cursor, cursor);
    await this.failed(t, results.find((r) => !r.ok)!, now);
    return 'failed';
  }

  /** Keeps the acknowledged events still after the cursor (at most a scan's worth). */
  private remember(endpointId: number, cursor: number, ids: number[]): void {
    const after = ids.filter((id) => id > cursor);
    if (after.length) this.acknowledged.set(endpointId, { cursor, ids: new Set(after) });
    else this.acknowledged.delete(endpointId);
  }

  /** This process's counts for the metrics. */
  private count(endpointId: number, ok: boolean, events: number): void {
    let c = this.counts.get(endpointId);
    if (!c) this.counts.set(endpointId, (c = { posts: 0, failedPosts: 0, events: 0 }));
    if (ok) {
      c.posts++;
      c.events += events;
    } else c.failedPosts++;
  }

  private async failed(t: EndpointTarget, result: PostResult, now: number): Promise<void> {
    const q = this.o.db.kysely;
    const since = t.failingSince ?? now;
    const failures = t.failures + 1;
    if (givenUp(this.o.retry, since, now)) {
      const hours = (now - since) / 3_600_000;
      const reason = `no 2xx answer for ${hours >= 1 ? `${hours.toFixed(1)} h` : `${Math.round((now - since) / 1000)} s`} (${failures} attempts); the last: ${result.error}`;
      await disableEndpoint(q, t.id, reason);
      // The alert: operators watch the error log; the endpoint's page says the same.
      this.o.logger.error({ endpoint: t.id, url: t.url, failures, reason }, 'webhook endpoint disabled: its receiver failed for the whole retry period');
      return;
    }
    await recordFailure(q, t.id, failures, since, now + retryDelayMs(this.o.retry, failures));
  }
}

/** Sends one signed test event to an endpoint now and records the attempt; the cursor does not move. */
export async function sendTestEvent(db: Db, secret: string, endpointId: number, timeoutMs: number): Promise<PostResult> {
  const t = await endpointTarget(db.kysely, secret, endpointId);
  if (!t) return { ok: false, statusCode: null, latencyMs: 0, error: 'the secret does not open with this instance secret' };
  const now = Date.now();
  const doc = { version: 1, id: 0, type: 'test', occurredAt: new Date(now).toISOString(), logId: null, deliveryId: null, recipient: null, messageId: null, status: null, failureType: null, failureReason: null, reply: null, attempt: null, category: null, mx: null, bounce: null, url: null, machine: null };
  const result = await postSigned(t.url, t.secret, JSON.stringify({ events: [doc] }), timeoutMs);
  await recordAttempt(db.kysely, { endpointId, firstEventId: null, lastEventId: null, events: 1, attempt: 0, statusCode: result.statusCode, latencyMs: result.latencyMs, error: result.error, at: now });
  return result;
}
