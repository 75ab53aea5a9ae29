/**
 * The events table: write outcome events (ignoring duplicates by key), read the ones the
 * feedback service has not applied yet, mark them applied, and read a log's history.
 */
import type { Db, Q } from '../db/index.ts';
import type { EventType, NewEvent, StoredEvent } from './types.ts';

const ROWS_PER_INSERT = 3000;

/** Writes events in the caller's transaction; an event whose key exists is skipped. */
export async function writeEvents(q: Q, events: NewEvent[]): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < events.length; i += ROWS_PER_INSERT) {
    const part = events.slice(i, i + ROWS_PER_INSERT);
    await q
      .insertInto('events')
      .values(
        part.map((e) => ({
          key: e.key,
          type: e.type,
          log_id: e.logId,
          delivery_id: e.deliveryId,
          occurred_at: e.occurredAt,
          payload: JSON.stringify(e.payload),
          created_at: now,
        })),
      )
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
  }
}

function toStored(r: { id: number; key: string; type: string; log_id: number | null; delivery_id: number | null; occurred_at: number; payload: string; applied_at: number | null; note?: string | null }): StoredEvent {
  return {
    id: Number(r.id),
    key: r.key,
    type: r.type as EventType,
    logId: r.log_id === null ? null : Number(r.log_id),
    deliveryId: r.delivery_id === null ? null : Number(r.delivery_id),
    occurredAt: Number(r.occurred_at),
    payload: JSON.parse(r.payload),
    appliedAt: r.applied_at === null ? null : Number(r.applied_at),
    note: r.note ?? null,
  };
}

/** The oldest events not yet applied. On PostgreSQL the rows are locked for the caller's transaction. */
export async function fetchUnapplied(db: Db, q: Q, limit: number): Promise<StoredEvent[]> {
  let query = q.selectFrom('events').selectAll().where('applied_at', 'is', null).orderBy('id').limit(limit);
  if (db.dialect === 'postgres') query = query.forUpdate().skipLocked();
  return (await query.execute()).map(toStored);
}

export async function markApplied(q: Q, ids: number[], at = Date.now()): Promise<void> {
  for (let i = 0; i < ids.length; i += ROWS_PER_INSERT) {
    await q.updateTable('events').set({ applied_at: at }).where('id', 'in', ids.slice(i, i + ROWS_PER_INSERT)).execute();
  }
}

/** What the feedback service judged when it applied these events (a machine's open, and why). */
export async function noteEvents(q: Q, notes: { id: number; note: string }[]): Promise<void> {
  for (const n of notes) await q.updateTable('events').set({ note: n.note.slice(0, 500) }).where('id', '=', n.id).execute();
}

export async function eventsForLog(q: Q, logId: number): Promise<StoredEvent[]> {
  return (await q.selectFrom('events').selectAll().where('log_id', '=', logId).orderBy('id').execute()).map(toStored);
}

export async function countUnapplied(q: Q): Promise<number> {
  const r = await q.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('applied_at', 'is', null).executeTakeFirst();
  return Number(r?.n ?? 0);
}
