/**
 * The spam-complaint rate of a From domain's recent deliveries, from the delivery counters
 * (`complaints` and `status:1`, Sent, kept by feedback/): the deliveries from that domain
 * started within a window, the most recent first, at most a given number, without the one
 * being analyzed. Reads only; two small indexed queries whatever the deliveries' size.
 */
import type { Q } from '../db/index.ts';
import { LogStatus } from '../deliveries/log-status.ts';

export interface ComplaintRate {
  deliveries: number;
  delivered: number;
  complaints: number;
}

export async function recentComplaintRate(q: Q, o: { domain: string; excludeId: number; since: number; limit: number }): Promise<ComplaintRate> {
  const domain = o.domain.toLowerCase();
  const rows = await q
    .selectFrom('deliveries')
    .select(['id', 'from_address'])
    .where('started_at', '>=', o.since)
    .where('id', '!=', o.excludeId)
    .where((eb) => eb(eb.fn('lower', ['from_address']), 'like', `%@${domain}`))
    .orderBy('started_at', 'desc')
    .limit(o.limit)
    .execute();
  // LIKE's "_" matches any character: keep only the exact domain.
  const ids = rows.filter((r) => r.from_address.toLowerCase().endsWith(`@${domain}`)).map((r) => Number(r.id));
  if (!ids.length) return { deliveries: 0, delivered: 0, complaints: 0 };
  const sent = `status:${LogStatus.Sent}`;
  const sums = await q
    .selectFrom('delivery_counters')
    .select(['name', (eb) => eb.fn.sum<number>('value').as('n')])
    .where('delivery_id', 'in', ids)
    .where('name', 'in', [sent, 'complaints'])
    .groupBy('name')
    .execute();
  const of = (name: string) => Number(sums.find((s) => s.name === name)?.n ?? 0);
  return { deliveries: ids.length, delivered: of(sent), complaints: of('complaints') };
}
