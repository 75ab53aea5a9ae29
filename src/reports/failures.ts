/**
 * Campaign's "non-deliverables and bounces" report for one delivery: failed messages by
 * failure type and reason, and by recipient domain (with each domain's share of its own
 * processed messages), read from the Failed logs through the (delivery, status) index.
 */
import type { Q } from '../db/index.ts';
import { failureReasonFromCode, failureTypeFromCode, LogStatus } from '../deliveries/index.ts';

export interface FailureBreakdown {
  total: number;
  byReason: { failureType: string; failureReason: string; count: number; percentOfFailures: number }[];
  byDomain: { domain: string; failed: number; processed: number; percentOfProcessed: number }[];
}

const pct = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 10000) / 100 : 0);

export async function getFailureBreakdown(q: Q, deliveryId: number, domainLimit = 20): Promise<FailureBreakdown> {
  const reasons = await q
    .selectFrom('delivery_logs')
    .select(['failure_type', 'failure_reason', (eb) => eb.fn.countAll<number>().as('n')])
    .where('delivery_id', '=', deliveryId)
    .where('status', '=', LogStatus.Failed)
    .groupBy(['failure_type', 'failure_reason'])
    .execute();
  const total = reasons.reduce((a, r) => a + Number(r.n), 0);
  const domains = await q
    .selectFrom('delivery_logs')
    .select(['domain', (eb) => eb.fn.countAll<number>().as('n')])
    .where('delivery_id', '=', deliveryId)
    .where('status', '=', LogStatus.Failed)
    .groupBy('domain')
    .orderBy('n', 'desc')
    .limit(domainLimit)
    .execute();
  const processed = domains.length
    ? await q
        .selectFrom('delivery_logs')
        .select(['domain', (eb) => eb.fn.countAll<number>().as('n')])
        .where('delivery_id', '=', deliveryId)
        .where('status', 'in', [LogStatus.Sent, LogStatus.Failed])
        .where('domain', 'in', domains.map((d) => d.domain))
        .groupBy('domain')
        .execute()
    : [];
  const processedBy = new Map(processed.map((p) => [p.domain, Number(p.n)]));
  return {
    total,
    byReason: reasons
      .map((r) => ({ failureType: failureTypeFromCode(r.failure_type) ?? 'Not defined', failureReason: failureReasonFromCode(r.failure_reason) ?? 'Not defined', count: Number(r.n), percentOfFailures: pct(Number(r.n), total) }))
      .sort((a, b) => b.count - a.count),
    byDomain: domains.map((d) => ({ domain: d.domain, failed: Number(d.n), processed: processedBy.get(d.domain) ?? Number(d.n), percentOfProcessed: pct(Number(d.n), processedBy.get(d.domain) ?? Number(d.n)) })),
  };
}
