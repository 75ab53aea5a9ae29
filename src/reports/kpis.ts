/**
 * A delivery's KPIs, following the seed's table: to deliver, processed, taken into account
 * (relayed to the MTA, outcome pending), sent, failed, success percentage (starts at 0 and
 * rises with Sent, as with Campaign's Email Feedback Service), plus soft bounces waiting for a
 * retry, new quarantines, complaints and failures by reason. Read from the counters, so the
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
}

const pct = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 10000) / 100 : 0);

export async function getKpis(q: Q, deliveryId: number): Promise<Kpis> {
  const row = await getDeliveryRow(q, deliveryId);
  const c = await getCounters(q, deliveryId);
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
  const toDeliver = row.to_deliver;
  return {
    targeted: row.targeted,
    toDeliver,
    excluded: row.excluded,
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
  };
}
