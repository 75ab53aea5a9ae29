/**
 * The event stream's durable state, two rows of the settings table (written through
 * db/settings.ts): the cursor, the id of the last event JetStream acknowledged, and the lease
 * that keeps one process publishing. Both change only by compare-and-set, so two processes
 * racing for them cannot both win. Not here: what is published (publisher.ts).
 */
import { compareAndSetSetting, getSetting, type Q } from '../db/index.ts';

const CURSOR_KEY = 'eventstream.cursor';
const LEASE_KEY = 'eventstream.lease';

/**
 * The cursor; the first time, the last event written so far, so that switching the event stream
 * on does not publish the whole history (as a new webhook endpoint, it gets events from now on).
 */
export async function readCursor(q: Q): Promise<number> {
  const stored = await getSetting(q, CURSOR_KEY);
  if (stored !== undefined) return Number(stored);
  const r = await q.selectFrom('events').select((eb) => eb.fn.max<number>('id').as('m')).executeTakeFirst();
  const start = r?.m === null || r?.m === undefined ? 0 : Number(r.m);
  await compareAndSetSetting(q, CURSOR_KEY, undefined, String(start));
  return Number(await getSetting(q, CURSOR_KEY));
}

/** Moves the cursor from `from` to `to`; false when another process moved it meanwhile. */
export async function advanceCursor(q: Q, from: number, to: number): Promise<boolean> {
  return compareAndSetSetting(q, CURSOR_KEY, String(from), String(to));
}

/** Takes (or renews) the lease until `until` when it is free, expired or already ours. */
export async function claimLease(q: Q, owner: string, now: number, until: number): Promise<boolean> {
  const current = await getSetting(q, LEASE_KEY);
  if (current !== undefined) {
    const [holder, end] = current.split(' ');
    if (holder !== owner && Number(end) >= now) return false;
  }
  return compareAndSetSetting(q, LEASE_KEY, current, `${owner} ${until}`);
}

/** Gives the lease up at a clean stop, so another process takes over at once. */
export async function releaseLease(q: Q, owner: string): Promise<void> {
  const current = await getSetting(q, LEASE_KEY);
  if (current?.split(' ')[0] === owner) await compareAndSetSetting(q, LEASE_KEY, current, '- 0');
}
