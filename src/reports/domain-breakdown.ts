/**
 * Per recipient domain, where a delivery's messages are: delivered (Sent), deferred (waiting
 * for a retry after a soft error), failed, and not yet tried; the largest domains first.
 * One grouped read of the delivery's logs through its (delivery, status) index.
 */
import type { Q } from '../db/index.ts';
import { failureTypeCode, LogStatus } from '../deliveries/index.ts';

export interface DomainRow {
  domain: string;
  recipients: number;
  sent: number;
  deferred: number;
  failed: number;
  /** Pending or relayed without an outcome yet (and not deferred). */
  waiting: number;
  /** Failed / (sent + failed), in percent. */
  failedPercent: number;
}

export async function getDomainBreakdown(q: Q, deliveryId: number, limit = 20): Promise<DomainRow[]> {
  const rows = await q
    .selectFrom('delivery_logs')
    .select(['domain', 'status', 'failure_type', (eb) => eb.fn.countAll<number>().as('n')])
    .where('delivery_id', '=', deliveryId)
    .where('status', 'in', [LogStatus.Sent, LogStatus.Failed, LogStatus.Taken, LogStatus.Pending])
    .groupBy(['domain', 'status', 'failure_type'])
    .execute();
  const soft = failureTypeCode('Soft');
  const by = new Map<string, DomainRow>();
  for (const r of rows) {
    const d = by.get(r.domain) ?? { domain: r.domain, recipients: 0, sent: 0, deferred: 0, failed: 0, waiting: 0, failedPercent: 0 };
    const count = Number(r.n);
    const status = Number(r.status);
    d.recipients += count;
    if (status === LogStatus.Sent) d.sent += count;
    else if (status === LogStatus.Failed) d.failed += count;
    else if (Number(r.failure_type) === soft) d.deferred += count;
    else d.waiting += count;
    by.set(r.domain, d);
  }
  return [...by.values()]
    .map((d) => ({ ...d, failedPercent: d.sent + d.failed ? Math.round((d.failed / (d.sent + d.failed)) * 10000) / 100 : 0 }))
    .sort((a, b) => b.recipients - a.recipients || a.domain.localeCompare(b.domain))
    .slice(0, limit);
}
