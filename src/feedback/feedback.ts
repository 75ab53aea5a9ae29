/**
 * The feedback service: takes the outcome events not yet applied, in order, and in one
 * transaction per batch updates the delivery logs (apply.ts), the per-delivery counters and
 * the quarantine, then marks the events applied. Applying an event twice changes nothing:
 * an applied event is never fetched again, and events are stored once per key.
 */
import type { Db, Q } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import { startLoop, type Loop } from '../lib/wakeup.ts';
import { fetchUnapplied, markApplied, noteEvents, type StoredEvent } from '../events/index.ts';
import { addDelta, applyDeltas, LogStatus, MINUTE_PREFIX, writeLogStates, type CounterDeltas } from '../deliveries/index.ts';
import { applyQuarantineFacts, QuarantineStatus, type AddressFact, type OutageGuard, type QuarantinePolicy } from '../quarantine/index.ts';
import { domainOf } from '../mail/address.ts';
import { applyEvent, type LogState } from './apply.ts';
import type { EngagementTiming } from './engagement.ts';
import { recordFailures, type SeenFailure } from '../qualification/index.ts';
import type { Qualification } from '../mail/failure.ts';
import type { Emitter } from '../lib/signals.ts';

export interface FeedbackOptions {
  db: Db;
  logger: Logger;
  /** The quarantine thresholds in force, read at each batch so a reloaded policy file applies. */
  quarantinePolicy: () => QuarantinePolicy;
  batchSize?: number;
  pollMs?: number;
  /** Holds new quarantines of a domain whose hard bounces look like a provider outage. */
  guard?: OutageGuard;
  /** The timings that tell a machine's open or click from a person's (policy/machine-engagement.yaml). */
  engagementTiming?: () => EngagementTiming;
  /** Told which deliveries' logs changed (the sender checks whether they are done). */
  signals?: Emitter<FeedbackSignals>;
}

/** The signals the feedback service emits. */
export interface FeedbackSignals {
  /** Delivery logs changed status, reason or counters after events were applied. */
  'logs:updated': { deliveryIds: number[]; events: number };
}

export class FeedbackService {
  private loop: Loop | null = null;
  constructor(private readonly o: FeedbackOptions) {}

  start(): void {
    this.loop = startLoop(() => this.step().then((n) => n > 0), { idleMs: this.o.pollMs ?? 250, onError: (err) => this.o.logger.error({ err }, 'feedback loop failed') });
  }

  wake(): void {
    this.loop?.wake();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }

  /** Applies one batch; returns how many events it applied. */
  async step(): Promise<number> {
    const { db } = this.o;
    let applied: StoredEvent[] = [];
    const touched = new Set<number>();
    await db.tx(async (trx) => {
      applied = await fetchUnapplied(db, trx, this.o.batchSize ?? 2000);
      if (!applied.length) return;
      await this.applyBatch(trx, applied, touched);
      await markApplied(trx, applied.map((e) => e.id));
    });
    if (applied.length) this.o.signals?.emit('logs:updated', { deliveryIds: [...touched], events: applied.length });
    return applied.length;
  }

  private async applyBatch(trx: Q, events: StoredEvent[], touched: Set<number>): Promise<void> {
    const logs = await loadLogs(trx, [...new Set(events.flatMap((e) => (e.logId === null ? [] : [e.logId])))], this.o.db.dialect === 'postgres');
    const original = new Map([...logs].map(([id, l]) => [id, { ...l }]));
    const deltas: CounterDeltas = new Map();
    const facts: AddressFact[] = [];
    const failures: SeenFailure[] = [];
    const notes: { id: number; note: string }[] = [];
    const timing = this.o.engagementTiming?.();
    for (const event of events) {
      const p = event.payload;
      if ((event.type === 'deferred' || event.type === 'bounced' || event.type === 'expired') && p.qualification && typeof p.reply === 'string') {
        failures.push({ text: p.reply, source: 'sync', qualification: p.qualification as Qualification, at: event.occurredAt });
      }
      const log = event.logId === null ? undefined : logs.get(event.logId);
      if (!log) continue;
      const effect = applyEvent(log, event, timing);
      if (effect.note) notes.push({ id: event.id, note: effect.note });
      logs.set(log.id, effect.log);
      for (const name of effect.bump) addDelta(deltas, log.deliveryId, name, 1);
      if (effect.quarantine) facts.push({ address: log.address, deliveryId: log.deliveryId, fact: effect.quarantine });
    }
    const changed: LogState[] = [];
    for (const [id, after] of logs) {
      const before = original.get(id)!;
      if (sameLog(before, after)) continue;
      touched.add(after.deliveryId);
      countChange(deltas, before, after);
      changed.push(after);
    }
    await writeLogStates(trx, changed, this.o.db.dialect === 'postgres');
    const guard = this.o.guard;
    if (guard) {
      const domains = new Set<string>();
      for (const f of facts) {
        if (f.fact.kind !== 'success' && !(f.fact.kind === 'error' && f.fact.quarantineNow)) continue;
        const domain = domainOf(f.address);
        guard.observe(domain, f.fact.kind === 'error', f.fact.at);
        domains.add(domain);
      }
      await guard.evaluate(trx, domains);
    }
    const changes = await applyQuarantineFacts(trx, facts, this.o.quarantinePolicy(), guard ? (d) => guard.isHeld(d) : undefined);
    const heldByDomain = new Map<string, number>();
    for (const c of changes) {
      const entered = c.after === QuarantineStatus.Quarantine || c.after === QuarantineStatus.Denylisted || c.after === QuarantineStatus.Suspected;
      if (entered && c.deliveryId !== null) addDelta(deltas, c.deliveryId, 'quarantined', 1);
      if (c.after === QuarantineStatus.Suspected) heldByDomain.set(domainOf(c.address), (heldByDomain.get(domainOf(c.address)) ?? 0) + 1);
    }
    for (const [domain, n] of heldByDomain) await guard?.countHeld(trx, domain, n);
    await applyDeltas(trx, deltas);
    await recordFailures(trx, failures);
    await noteEvents(trx, notes);
  }
}

/**
 * The logs the events concern. With several feedback workers (PostgreSQL) the rows are
 * locked, in id order, so two workers never compute counter deltas from the same old state.
 */
async function loadLogs(q: Q, ids: number[], lock: boolean): Promise<Map<number, LogState>> {
  const out = new Map<number, LogState>();
  ids.sort((a, b) => a - b);
  for (let i = 0; i < ids.length; i += 2000) {
    let query = q
      .selectFrom('delivery_logs')
      .select(['id', 'delivery_id', 'address', 'status', 'failure_type', 'failure_reason', 'reply', 'attempts', 'event_at', 'sent_at', 'complained_at', 'opened_at', 'clicked_at', 'clicked_links'])
      .where('id', 'in', ids.slice(i, i + 2000))
      .orderBy('id');
    if (lock) query = query.forUpdate();
    const rows = await query.execute();
    for (const r of rows) {
      out.set(Number(r.id), {
        id: Number(r.id),
        deliveryId: Number(r.delivery_id),
        address: r.address,
        status: r.status,
        failureType: r.failure_type,
        failureReason: r.failure_reason,
        reply: r.reply,
        attempts: r.attempts,
        eventAt: Number(r.event_at),
        sentAt: r.sent_at === null ? null : Number(r.sent_at),
        complainedAt: r.complained_at === null ? null : Number(r.complained_at),
        openedAt: r.opened_at === null ? null : Number(r.opened_at),
        clickedAt: r.clicked_at === null ? null : Number(r.clicked_at),
        clickedLinks: r.clicked_links,
      });
    }
  }
  return out;
}

function sameLog(a: LogState, b: LogState): boolean {
  return a.status === b.status && a.failureType === b.failureType && a.failureReason === b.failureReason && a.reply === b.reply && a.attempts === b.attempts && a.eventAt === b.eventAt && a.sentAt === b.sentAt && a.complainedAt === b.complainedAt && a.openedAt === b.openedAt && a.clickedAt === b.clickedAt && a.clickedLinks === b.clickedLinks;
}

/** Counter deltas for one log's change: status buckets, failed-by-reason, soft retries pending. */
function countChange(deltas: CounterDeltas, before: LogState, after: LogState): void {
  const d = after.deliveryId;
  if (before.status !== after.status) {
    addDelta(deltas, d, `status:${before.status}`, -1);
    addDelta(deltas, d, `status:${after.status}`, 1);
  }
  const reasonKey = (l: LogState) => (l.status === LogStatus.Failed ? `reason:${l.failureReason ?? 0}` : null);
  const rb = reasonKey(before);
  const ra = reasonKey(after);
  if (rb !== ra) {
    if (rb) addDelta(deltas, d, rb, -1);
    if (ra) addDelta(deltas, d, ra, 1);
  }
  const soft = (l: LogState) => l.status === LogStatus.Taken && l.failureType > 0;
  if (soft(before) !== soft(after)) addDelta(deltas, d, 'soft', soft(after) ? 1 : -1);
  // Per-minute outcome counts for the throughput chart (reports/throughput.ts).
  if (before.status !== after.status && (after.status === LogStatus.Sent || after.status === LogStatus.Failed)) {
    addDelta(deltas, d, `${MINUTE_PREFIX}${Math.floor(after.eventAt / 60_000)}:${after.status === LogStatus.Sent ? 'sent' : 'failed'}`, 1);
  }
}
