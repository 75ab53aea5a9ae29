/**
 * One round of an endpoint's delivery, planned: which of the ready events go in which POST.
 * A message's events always share a lane (its delivery log's id picks it), so POSTs sent side
 * by side keep each message's order; a lane holds one POST of up to `batchSize` events. The
 * round stops before the first event whose lane is full, and `upTo` says how far the cursor
 * may move once every POST of the round is answered with a 2xx. A backlog that fits in one
 * POST goes in one POST, in the events' order. Pure: the dispatcher posts, the tests check.
 */
import type { RawEvent } from './documents.ts';

export interface RoundPlan {
  /** The POSTs of the round, each in event order; empty when nothing ready is wanted. */
  batches: RawEvent[][];
  /** The last event id the round covers (posted, filtered out, or already acknowledged). */
  upTo: number;
}

/**
 * `ready`: the events after the cursor that may be sent, in id order. `wanted`: the endpoint's
 * filters. `acknowledged`: events after the cursor a receiver already took (a round whose
 * other lanes failed), not sent again.
 */
export function planRound(ready: RawEvent[], wanted: (e: RawEvent) => boolean, acknowledged: ReadonlySet<number>, lanes: number, batchSize: number): RoundPlan {
  const byLane = new Map<number, RawEvent[]>();
  let upTo = ready.length ? Number(ready[ready.length - 1].id) : 0;
  let total = 0;
  for (let i = 0; i < ready.length; i++) {
    const e = ready[i];
    if (!wanted(e) || acknowledged.has(Number(e.id))) continue;
    // An event without a log (none today from the MTA) is its own message.
    const lane = lanes <= 1 ? 0 : Number(e.log_id ?? e.id) % lanes;
    const batch = byLane.get(lane) ?? [];
    if (batch.length >= batchSize) {
      // i > 0: a full lane holds earlier events.
      upTo = Number(ready[i - 1].id);
      break;
    }
    batch.push(e);
    byLane.set(lane, batch);
    total++;
  }
  const batches = [...byLane.values()].sort((a, b) => Number(a[0].id) - Number(b[0].id));
  if (batches.length > 1 && total <= batchSize) return { batches: [batches.flat().sort((a, b) => Number(a.id) - Number(b.id))], upTo };
  return { batches, upTo };
}
