/**
 * Where a time window starts in a delivery's logs, found without an index on created_at: a
 * stream never finishes and may hold millions of logs, and one more index on delivery_logs
 * would slow every log insert of every delivery. Within a delivery a log's id grows with its
 * created_at (both are set when the log is inserted), so a binary search over the
 * (delivery_id, id) index finds the first log of the window in about 30 seeks. Logs written
 * at the same moment by two API processes may be out of order by a few milliseconds; the
 * window's edge is that precise.
 */
import type { Q } from '../db/index.ts';

/** The id of the first log of the delivery created at or after `from`, or null when there is none. */
export async function firstLogIdSince(q: Q, deliveryId: number, from: number): Promise<number | null> {
  const bounds = await q.selectFrom('delivery_logs').select((eb) => [eb.fn.min('id').as('lo'), eb.fn.max('id').as('hi')]).where('delivery_id', '=', deliveryId).executeTakeFirst();
  if (bounds?.lo === null || bounds?.lo === undefined || bounds.hi === null) return null;
  const firstFrom = (id: number) => q.selectFrom('delivery_logs').select(['id', 'created_at']).where('delivery_id', '=', deliveryId).where('id', '>=', id).orderBy('id').limit(1).executeTakeFirst();
  let lo = Number(bounds.lo);
  let hi = Number(bounds.hi);
  const last = await firstFrom(hi);
  if (!last || Number(last.created_at) < from) return null;
  // The smallest id whose next log is in the window; that log is the answer.
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const next = await firstFrom(mid);
    if (next && Number(next.created_at) >= from) hi = mid;
    else lo = mid + 1;
  }
  return Number((await firstFrom(lo))!.id);
}
