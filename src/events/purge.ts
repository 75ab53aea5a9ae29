/**
 * The events' side of retention: deletes the applied events of given logs, never one a
 * webhook endpoint has still to post (past the lowest cursor of the enabled endpoints), and
 * counts a delivery's events for a dry run.
 *
 * Not here: which logs are old enough (deliveries/retention.ts), batches (retention/).
 */
import type { Q } from '../db/index.ts';

/** Events with a greater id are still owed to an enabled webhook endpoint; null when none is. */
export async function webhookHorizon(q: Q): Promise<number | null> {
  const r = await q.selectFrom('webhook_endpoints').select((eb) => eb.fn.min<number>('cursor').as('c')).where('enabled', '=', 1).executeTakeFirst();
  return r?.c === null || r?.c === undefined ? null : Number(r.c);
}

/** Deletes the applied events of these logs up to `maxId` (null: no limit). Returns how many. */
export async function deleteEventsOfLogs(q: Q, logIds: number[], maxId: number | null): Promise<number> {
  if (!logIds.length) return 0;
  let del = q.deleteFrom('events').where('log_id', 'in', logIds).where('applied_at', 'is not', null);
  if (maxId !== null) del = del.where('id', '<=', maxId);
  const r = await del.executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** The events of a delivery's logs (through index events_log). */
export async function countEventsOfDelivery(q: Q, deliveryId: number): Promise<number> {
  const r = await q
    .selectFrom('events')
    .innerJoin('delivery_logs', 'delivery_logs.id', 'events.log_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('delivery_logs.delivery_id', '=', deliveryId)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}
