/**
 * The webhook dispatcher: for each enabled endpoint, reads the events after its durable
 * cursor that the feedback service has applied (so the log's state in the document is
 * final for them), posts them signed in order, up to `batchSize` per POST (a slow receiver
 * gets bigger batches, a quick one small ones), and moves the cursor only on a 2xx. A
 * failure waits 1 s, doubling up to 1 h (retry.ts), and after `retryFor` without a 2xx the
 * endpoint is disabled with the reason and an error is logged. One POST at a time per
 * endpoint, so events arrive in order (per message, and overall); endpoints are served side
 * by side, and a lease in the table keeps two processes off the same endpoint. Its own loop:
 * it never runs in, nor slows, the MTA's; an error is logged and the loop goes on.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import { startLoop, type Loop } from '../lib/wakeup.ts';
import { buildDocuments, type RawEvent } from './documents.ts';
import { postSigned, type PostResult } from './post.ts';
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

export class WebhookDispatcher {
  private loop: Loop | null = null;
  private readonly serving = new Map<number, Promise<void>>();
  private stopping = false;
  private readonly owner = `webhooks-${process.pid}-${randomBytes(4).toString('hex')}`;

  constructor(private readonly o: DispatcherOptions) {}

  start(): void {
    this.loop = startLoop(() => this.step(), { idleMs: this.o.pollMs ?? 1000, onError: (err) => this.o.logger.error({ err }, 'webhook loop failed') });
  }

  wake(): void {
    this.loop?.wake();
  }

  async stop(): Promise<void> {
    this.stopping = true;
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

  /** One POST (or one move past events the filters do not want). */
  async deliverOnce(t: EndpointTarget): Promise<Outcome> {
    const q = this.o.db.kysely;
    const scan = Math.max(500, this.o.batchSize * 5);
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
    const wanted: RawEvent[] = [];
    let upTo = Number(ready[ready.length - 1].id);
    for (const e of ready) {
      if (t.eventTypes && !t.eventTypes.has(e.type)) continue;
      if (t.deliveryId !== null && Number(e.delivery_id) !== t.deliveryId) continue;
      wanted.push(e);
      if (wanted.length === this.o.batchSize) {
        upTo = Number(e.id);
        break;
      }
    }
    if (!wanted.length) {
      await advanceCursor(q, t.id, this.owner, t.cursor, upTo);
      return 'more';
    }
    const docs = await buildDocuments(q, this.o.secret, wanted);
    const body = JSON.stringify({ events: docs });
    const result = await postSigned(t.url, t.secret, body, this.o.timeoutMs);
    const now = Date.now();
    await recordAttempt(q, { endpointId: t.id, firstEventId: Number(wanted[0].id), lastEventId: Number(wanted[wanted.length - 1].id), events: wanted.length, attempt: t.failures + 1, statusCode: result.statusCode, latencyMs: result.latencyMs, error: result.error, at: now });
    if (result.ok) {
      await advanceCursor(q, t.id, this.owner, t.cursor, upTo);
      return 'more';
    }
    await this.failed(t, result, now);
    return 'failed';
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
