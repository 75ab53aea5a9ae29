/**
 * Throughput over a delivery's life: messages per minute that became Sent or Failed,
 * from per-minute counters the feedback service keeps (`m:<epoch minute>:sent|failed`), so
 * the chart costs the same at any delivery size. Campaign's delivery throughput report shows
 * the same split (successes in blue, errors in orange).
 */
import type { Q } from '../db/index.ts';
import { MINUTE_PREFIX } from '../deliveries/index.ts';

export interface ThroughputPoint {
  /** Start of the minute, ISO 8601. */
  minute: string;
  sent: number;
  failed: number;
}

export async function getThroughput(q: Q, deliveryId: number): Promise<ThroughputPoint[]> {
  const rows = await q.selectFrom('delivery_counters').select(['name', 'value']).where('delivery_id', '=', deliveryId).where('name', 'like', `${MINUTE_PREFIX}%`).execute();
  const byMinute = new Map<number, ThroughputPoint>();
  for (const r of rows) {
    const [, minute, kind] = r.name.split(':');
    const m = Number(minute);
    let p = byMinute.get(m);
    if (!p) byMinute.set(m, (p = { minute: new Date(m * 60_000).toISOString(), sent: 0, failed: 0 }));
    if (kind === 'sent') p.sent += Number(r.value);
    else if (kind === 'failed') p.failed += Number(r.value);
  }
  return [...byMinute.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
}
