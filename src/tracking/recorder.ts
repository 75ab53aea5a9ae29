/**
 * Records opens, clicks and unsubscriptions as outcome events, so that they become each
 * log's history and the feedback service counts them like any other event.
 *
 * Opens and clicks are answered before they are written: they wait in memory and are
 * written in one transaction every `flushMs`, so a burst of pixel fetches costs a few
 * inserts and never makes a request wait on the database. A click is held `burst` ms first,
 * so that a scanner following every link of a message within a second is seen as one
 * burst. The buffer is bounded: past `maxBuffered` waiting events, new ones are dropped and
 * counted (a crash loses at most the last `flushMs` of opens and clicks). Unsubscriptions
 * are written before the request is answered: they must not be lost.
 */
import type { Db } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { Emitter } from '../lib/signals.ts';
import { writeEvents, type EventSignals, type NewEvent } from '../events/index.ts';
import type { AgentMatcher } from './machine.ts';

export interface TrackingHit {
  deliveryId: number;
  logId: number;
  at: number;
  userAgent: string;
  ip: string;
  method: string;
}

export interface RecorderOptions {
  db: Db;
  logger: Logger;
  agents: () => AgentMatcher;
  /** The burst window in force (policy/machine-engagement.yaml timing.burst), in ms. */
  burstMs: () => number;
  signals?: Emitter<EventSignals>;
  flushMs?: number;
  maxBuffered?: number;
}

interface HeldClick {
  event: NewEvent;
  linkId: number;
}

export class TrackingRecorder {
  private opens: NewEvent[] = [];
  private clicks: HeldClick[] = [];
  // Recent clicks per log, kept two burst windows, to see a burst across flushes.
  private recent = new Map<number, { at: number; linkId: number; event: NewEvent }[]>();
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  dropped = 0;
  written = 0;

  constructor(private readonly o: RecorderOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(false), this.o.flushMs ?? 200);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush(true);
  }

  /** Waiting events (opens and clicks not yet written). */
  get buffered(): number {
    return this.opens.length + this.clicks.length;
  }

  open(hit: TrackingHit): boolean {
    if (!this.room()) return false;
    this.opens.push(this.event('opened', hit, {}));
    return true;
  }

  click(hit: TrackingHit, linkId: number, url: string | null): boolean {
    if (!this.room()) return false;
    const event = this.event('clicked', hit, url === null ? { linkId } : { linkId, url });
    this.clicks.push({ event, linkId });
    this.markBurst(hit.logId, { at: hit.at, linkId, event });
    return true;
  }

  /** Writes an unsubscription now; a second one for the same log is the same event (stored once). */
  async unsubscribe(hit: TrackingHit, how: 'one-click' | 'page'): Promise<void> {
    const event: NewEvent = { key: `unsubscribe.${hit.logId}`, type: 'unsubscribed', logId: hit.logId, deliveryId: hit.deliveryId, occurredAt: hit.at, payload: { how, ...this.client(hit) } };
    await this.o.db.tx((trx) => writeEvents(trx, [event]));
    this.o.signals?.emit('outcomes:written', { source: 'tracking', events: 1, delivered: 0 });
  }

  /** Writes what is due: every open, and the clicks past their burst window (all of them when `all`). */
  async flush(all: boolean): Promise<void> {
    if (this.flushing) return this.flushing;
    const cutoff = all ? Infinity : Date.now() - this.o.burstMs();
    const due = this.opens;
    this.opens = [];
    const keep: HeldClick[] = [];
    for (const c of this.clicks) (c.event.occurredAt <= cutoff ? due.push(c.event) : keep.push(c));
    this.clicks = keep;
    this.forgetOld();
    if (!due.length) return;
    this.flushing = this.o.db
      .tx((trx) => writeEvents(trx, due))
      .then(() => {
        this.written += due.length;
        this.o.signals?.emit('outcomes:written', { source: 'tracking', events: due.length, delivered: 0 });
      })
      .catch((err) => {
        // Put them back for the next flush rather than lose them (the buffer bound still holds).
        this.o.logger.warn({ err, events: due.length }, 'tracking events not written; retrying');
        this.opens.unshift(...due.filter((e) => e.type === 'opened'));
        this.clicks.unshift(...due.filter((e) => e.type === 'clicked').map((event) => ({ event, linkId: Number(event.payload.linkId) })));
      })
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }

  private room(): boolean {
    if (this.buffered < (this.o.maxBuffered ?? 100_000)) return true;
    this.dropped++;
    return false;
  }

  private event(type: 'opened' | 'clicked', hit: TrackingHit, extra: Record<string, unknown>): NewEvent {
    return { key: `${type}.${hit.logId}.${hit.at}.${(this.seq = (this.seq + 1) % 1e9)}`, type, logId: hit.logId, deliveryId: hit.deliveryId, occurredAt: hit.at, payload: { ...extra, ...this.client(hit) } };
  }

  /** Who made the request, and which proxy or scanner that is, if any. */
  private client(hit: TrackingHit): Record<string, unknown> {
    const agent = this.o.agents().match(hit.userAgent, hit.ip);
    return { userAgent: hit.userAgent.slice(0, 300), ip: hit.ip, method: hit.method, ...(agent ? { agent: agent.name, agentKind: agent.kind } : {}) };
  }

  /** Several different links of one message within the burst window: all of them are a scanner's. */
  private markBurst(logId: number, click: { at: number; linkId: number; event: NewEvent }): void {
    const window = this.o.burstMs();
    const list = this.recent.get(logId) ?? [];
    list.push(click);
    this.recent.set(logId, list);
    const near = list.filter((c) => Math.abs(c.at - click.at) <= window);
    if (new Set(near.map((c) => c.linkId)).size < 2) return;
    for (const c of near) c.event.payload.burst = near.length;
  }

  private forgetOld(): void {
    const before = Date.now() - 2 * this.o.burstMs() - 1000;
    for (const [logId, list] of this.recent) {
      const kept = list.filter((c) => c.at >= before);
      if (kept.length) this.recent.set(logId, kept);
      else this.recent.delete(logId);
    }
  }
}
