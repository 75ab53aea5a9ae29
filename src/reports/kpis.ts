/**
 * A delivery's KPIs, following the seed's table: to deliver, processed, taken into account
 * (relayed to the MTA, outcome pending), sent, failed, success percentage (starts at 0 and
 * rises with Sent, as with Campaign's Email Feedback Service), plus soft bounces waiting for a
 * retry, new quarantines, complaints and failures by reason, and the tracking indicators
 * (opens, clicks, people and machines apart, and their rates). Read from the counters, so the
 * cost does not grow with the delivery's size.
 */
import type { Q } from '../db/index.ts';
import { failureReasonFromCode, getCounters, getDeliveryRow, LogStatus } from '../deliveries/index.ts';
import type { FailureReason } from '../mail/failure.ts';

export interface Kpis {
  targeted: number;
  toDeliver: number;
  excluded: number;
  pending: number;
  takenIntoAccount: number;
  processed: number;
  sent: number;
  failed: number;
  cancelled: number;
  successPercent: number;
  failedPercent: number;
  softBouncesPendingRetry: number;
  quarantined: number;
  complaints: number;
  unsubscribes: number;
  failuresByReason: Partial<Record<FailureReason, number>>;
  uniqueOpens: number;
  opens: number;
  machineOpens: number;
  uniqueClicks: number;
  clicks: number;
  machineClicks: number;
  openRatePercent: number;
  clickRatePercent: number;
  clickToOpenPercent: number;
  unsubscribePercent: number;
  complaintPercent: number;
}

const pct = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 10000) / 100 : 0);

export async function getKpis(q: Q, deliveryId: number): Promise<Kpis> {
  const row = await getDeliveryRow(q, deliveryId);
  return computeKpis(row, await getCounters(q, deliveryId));
}

/** KPIs of several deliveries in two queries (the deliveries list, its live stream). */
export async function getKpisMany(q: Q, ids: number[]): Promise<Map<number, Kpis>> {
  const out = new Map<number, Kpis>();
  if (!ids.length) return out;
  const rows = await q.selectFrom('deliveries').select(['id', 'targeted', 'to_deliver', 'excluded']).where('id', 'in', ids).execute();
  const counters = await q
    .selectFrom('delivery_counters')
    .select(['delivery_id', 'name', 'value'])
    .where('delivery_id', 'in', ids)
    // Leave out the per-minute throughput counters ("m:<minute>:sent"): they grow with time.
    .where('name', 'not like', 'm:%')
    .where('name', 'not like', 'link:%')
    .execute();
  const byDelivery = new Map<number, Record<string, number>>();
  for (const c of counters) {
    const id = Number(c.delivery_id);
    if (!byDelivery.has(id)) byDelivery.set(id, {});
    byDelivery.get(id)![c.name] = Number(c.value);
  }
  for (const r of rows) out.set(Number(r.id), computeKpis(r, byDelivery.get(Number(r.id)) ?? {}));
  return out;
}

export function computeKpis(row: { targeted: number; to_deliver: number; excluded: number }, c: Record<string, number>): Kpis {
  const n = (s: number) => c[`status:${s}`] ?? 0;
  const sent = n(LogStatus.Sent);
  // Personalization failures found at analysis are Failed logs that were never "to deliver".
  const failed = n(LogStatus.Failed);
  const failuresByReason: Partial<Record<FailureReason, number>> = {};
  for (const [name, value] of Object.entries(c)) {
    if (!name.startsWith('reason:') || value <= 0) continue;
    const reason = failureReasonFromCode(Number(name.slice(7))) ?? 'Not defined';
    failuresByReason[reason] = (failuresByReason[reason] ?? 0) + value;
  }
  const toDeliver = Number(row.to_deliver);
  return {
    targeted: Number(row.targeted),
    toDeliver,
    excluded: Number(row.excluded),
    pending: n(LogStatus.Pending),
    takenIntoAccount: n(LogStatus.Taken),
    processed: sent + failed,
    sent,
    failed,
    cancelled: n(LogStatus.Cancelled),
    successPercent: pct(sent, toDeliver),
    failedPercent: pct(failed, toDeliver),
    softBouncesPendingRetry: c.soft ?? 0,
    quarantined: c.quarantined ?? 0,
    complaints: c.complaints ?? 0,
    unsubscribes: c.unsubscribes ?? 0,
    failuresByReason,
    // Campaign's tracking indicators (§7.8, §7.9): rates over the messages sent (delivered).
    uniqueOpens: c.uniqueOpens ?? 0,
    opens: c.opens ?? 0,
    machineOpens: c.machineOpens ?? 0,
    uniqueClicks: c.uniqueClicks ?? 0,
    clicks: c.clicks ?? 0,
    machineClicks: c.machineClicks ?? 0,
    openRatePercent: pct(c.uniqueOpens ?? 0, sent),
    clickRatePercent: pct(c.uniqueClicks ?? 0, sent),
    clickToOpenPercent: pct(c.uniqueClicks ?? 0, c.uniqueOpens ?? 0),
    unsubscribePercent: pct(c.unsubscribes ?? 0, sent),
    complaintPercent: pct(c.complaints ?? 0, sent),
  };
}
