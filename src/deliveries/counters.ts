/**
 * Per-delivery counters kept in step with the delivery logs, so KPIs stay O(1) at a million
 * recipients. Every change to a log's status, failure reason or complaint flag adds a delta
 * here in the same transaction. `recountDelivery` rebuilds them from the logs (Campaign's
 * "Recompute delivery indicators") after bulk changes.
 *
 * Names: `status:<code>` logs per status, `reason:<code>` failed logs per failure reason,
 * `soft` logs waiting for a retry after a soft error, `complaints`, `quarantined`.
 */
import { sql } from 'kysely';
import type { Q } from '../db/index.ts';
import { LogStatus } from './log-status.ts';

/** Per-minute outcome counters for the throughput chart: `m:<epoch minute>:sent|failed`. */
export const MINUTE_PREFIX = 'm:';

export type CounterDeltas = Map<number, Map<string, number>>;

export function addDelta(deltas: CounterDeltas, deliveryId: number, name: string, delta: number): void {
  if (delta === 0) return;
  let m = deltas.get(deliveryId);
  if (!m) deltas.set(deliveryId, (m = new Map()));
  m.set(name, (m.get(name) ?? 0) + delta);
}

export async function applyDeltas(q: Q, deltas: CounterDeltas): Promise<void> {
  const rows: { delivery_id: number; name: string; value: number }[] = [];
  for (const [deliveryId, m] of deltas) for (const [name, value] of m) if (value !== 0) rows.push({ delivery_id: deliveryId, name, value });
  for (let i = 0; i < rows.length; i += 2000) {
    await q
      .insertInto('delivery_counters')
      .values(rows.slice(i, i + 2000))
      .onConflict((oc) => oc.columns(['delivery_id', 'name']).doUpdateSet({ value: sql`delivery_counters.value + excluded.value` }))
      .execute();
  }
}

export async function getCounters(q: Q, deliveryId: number): Promise<Record<string, number>> {
  const rows = await q.selectFrom('delivery_counters').select(['name', 'value']).where('delivery_id', '=', deliveryId).execute();
  return Object.fromEntries(rows.map((r) => [r.name, Number(r.value)]));
}

export function counter(counters: Record<string, number>, status: LogStatus): number {
  return counters[`status:${status}`] ?? 0;
}

/** Rebuilds a delivery's counters from its logs. */
export async function recountDelivery(q: Q, deliveryId: number): Promise<void> {
  const byStatus = await q
    .selectFrom('delivery_logs')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('delivery_id', '=', deliveryId)
    .groupBy('status')
    .execute();
  const byReason = await q
    .selectFrom('delivery_logs')
    .select(['failure_reason', (eb) => eb.fn.countAll<number>().as('n')])
    .where('delivery_id', '=', deliveryId)
    .where('status', '=', LogStatus.Failed)
    .groupBy('failure_reason')
    .execute();
  const extra = await q
    .selectFrom('delivery_logs')
    .select((eb) => [
      eb.fn.sum<number>(eb.case().when(eb.and([eb('status', '=', LogStatus.Taken), eb('failure_type', '>', 0)])).then(1).else(0).end()).as('soft'),
      eb.fn.sum<number>(eb.case().when('complained_at', 'is not', null).then(1).else(0).end()).as('complaints'),
    ])
    .where('delivery_id', '=', deliveryId)
    .executeTakeFirst();
  const rows = [
    ...byStatus.map((r) => ({ name: `status:${r.status}`, value: Number(r.n) })),
    ...byReason.map((r) => ({ name: `reason:${r.failure_reason ?? 0}`, value: Number(r.n) })),
    { name: 'soft', value: Number(extra?.soft ?? 0) },
    { name: 'complaints', value: Number(extra?.complaints ?? 0) },
  ];
  // Only the counters derived from the logs are rebuilt; event-driven ones (new quarantines,
  // unsubscribes, the per-minute throughput) cannot be recomputed from the logs and are kept.
  await q
    .deleteFrom('delivery_counters')
    .where('delivery_id', '=', deliveryId)
    .where((eb) => eb.or([eb('name', 'like', 'status:%'), eb('name', 'like', 'reason:%'), eb('name', 'in', ['soft', 'complaints'])]))
    .execute();
  const all = rows.filter((r) => r.value !== 0);
  if (all.length) await q.insertInto('delivery_counters').values(all.map((r) => ({ delivery_id: deliveryId, ...r }))).execute();
}
