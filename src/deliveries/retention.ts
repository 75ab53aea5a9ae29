/**
 * The deliveries' side of retention: which final deliveries are old enough for their logs
 * (or only their logs' events) to go, their log ids in pages, the deletion of logs that no
 * event refers to any more, and the audit entry that says a delivery was purged (so that
 * the hourly run does not walk it again). The delivery row and its counters, the KPIs,
 * always stay.
 *
 * Not here: the events (events/purge.ts), the batches and the schedule (retention/).
 */
import type { Q } from '../db/index.ts';
import { audit } from './audit.ts';
import { FINAL_STATES } from './states.ts';

/** The audit actions that mark a purged delivery. */
export const PURGED = { logs: 'logs purged', events: 'events purged' } as const;

/**
 * Final deliveries finished before `before` and not yet purged of `what`, by id after
 * `afterId`. A delivery whose logs were purged has no events left either.
 */
export async function deliveriesToPurge(q: Q, what: keyof typeof PURGED, before: number, afterId = 0, limit = 100): Promise<{ id: number; finishedAt: number }[]> {
  const done = what === 'logs' ? [PURGED.logs] : [PURGED.logs, PURGED.events];
  const rows = await q
    .selectFrom('deliveries')
    .select(['id', 'finished_at'])
    .where('state', 'in', [...FINAL_STATES])
    .where('finished_at', 'is not', null)
    .where('finished_at', '<', before)
    .where('id', '>', afterId)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('delivery_audit').select('delivery_audit.id').whereRef('delivery_audit.delivery_id', '=', 'deliveries.id').where('delivery_audit.action', 'in', done))))
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), finishedAt: Number(r.finished_at) }));
}

/** The next page of a delivery's log ids (index delivery_logs_delivery). */
export async function logIdsAfter(q: Q, deliveryId: number, afterId: number, limit: number): Promise<number[]> {
  const rows = await q.selectFrom('delivery_logs').select('id').where('delivery_id', '=', deliveryId).where('id', '>', afterId).orderBy('id').limit(limit).execute();
  return rows.map((r) => Number(r.id));
}

export async function countDeliveryLogs(q: Q, deliveryId: number): Promise<number> {
  const r = await q.selectFrom('delivery_logs').select((eb) => eb.fn.countAll<number>().as('n')).where('delivery_id', '=', deliveryId).executeTakeFirst();
  return Number(r?.n ?? 0);
}

/**
 * Deletes these logs, except those an event still refers to (not applied yet, or not yet
 * posted to a webhook): they go at a later run. Returns how many were deleted.
 */
export async function deleteLogs(q: Q, ids: number[]): Promise<number> {
  if (!ids.length) return 0;
  const r = await q
    .deleteFrom('delivery_logs')
    .where('id', 'in', ids)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('events').select('events.id').whereRef('events.log_id', '=', 'delivery_logs.id'))))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Records that a delivery's logs (with their events) or only its events were purged. */
export async function markPurged(q: Q, deliveryId: number, what: keyof typeof PURGED, detail: { logs: number; events: number; olderThan: string }): Promise<void> {
  await audit(q, deliveryId, 'system', PURGED[what], detail);
}
