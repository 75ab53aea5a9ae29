/**
 * Every change of a delivery log's status, in one place: the analysis writes a delivery's
 * logs (replacing the previous analysis's), the sender takes Pending logs to the MTA or
 * cancels them, and the feedback service writes the state its events lead to. Counter
 * deltas go with each change, in the same transaction. The only writer of `delivery_logs`.
 */
import { sql, type Insertable } from 'kysely';
import { insertChunked, ReusableStatement, type Database, type Db, type Q } from '../db/index.ts';
import { addDelta, applyDeltas, MINUTE_PREFIX } from './counters.ts';
import { failureReasonCode, failureTypeCode, LogStatus } from './log-status.ts';

export type NewLog = Insertable<Database['delivery_logs']>;

/** Removes a delivery's logs before its analysis writes them anew. */
export async function clearLogs(q: Q, deliveryId: number): Promise<void> {
  await q.deleteFrom('delivery_logs').where('delivery_id', '=', deliveryId).execute();
}

/** The analysis's logs of one chunk of the target (Pending, Ignored or Failed). */
export async function insertLogs(q: Q, logs: NewLog[]): Promise<void> {
  await insertChunked(q, 'delivery_logs', logs);
}

/**
 * Pending → "Taken into account by the service provider", for the logs of a batch handed to
 * the MTA. Only logs still Pending are taken (the validity end may have cancelled some
 * meanwhile); returns their ids.
 */
export async function takeLogs(trx: Q, deliveryId: number, logIds: number[], now: number): Promise<Set<number>> {
  const taken = await trx
    .updateTable('delivery_logs')
    .set({ status: LogStatus.Taken, updated_at: now, event_at: now })
    .where('id', 'in', logIds)
    .where('status', '=', LogStatus.Pending)
    .returning('id')
    .execute();
  const ids = new Set(taken.map((r) => Number(r.id)));
  const deltas = new Map();
  addDelta(deltas, deliveryId, `status:${LogStatus.Pending}`, -ids.size);
  addDelta(deltas, deliveryId, `status:${LogStatus.Taken}`, ids.size);
  await applyDeltas(trx, deltas);
  return ids;
}

/**
 * Pending → Failed (type Ignored, reason Not defined), for messages that could not be built
 * when the sender came to them (content that rendered at analysis but not now, for example a
 * rendering limit on this recipient's data): the recipient is not at fault, the message is.
 */
export async function failUnbuiltLogs(trx: Q, deliveryId: number, failures: { logId: number; problem: string }[], now: number): Promise<number> {
  let n = 0;
  for (const f of failures) {
    const r = await trx
      .updateTable('delivery_logs')
      .set({ status: LogStatus.Failed, failure_type: failureTypeCode('Ignored'), failure_reason: failureReasonCode('Not defined'), reply: f.problem.slice(0, 2000), updated_at: now, event_at: now })
      .where('id', '=', f.logId)
      .where('status', '=', LogStatus.Pending)
      .executeTakeFirst();
    n += Number(r.numUpdatedRows);
  }
  const deltas = new Map();
  addDelta(deltas, deliveryId, `status:${LogStatus.Pending}`, -n);
  addDelta(deltas, deliveryId, `status:${LogStatus.Failed}`, n);
  await applyDeltas(trx, deltas);
  return n;
}

/** Pending logs of a delivery become "Delivery cancelled" (stop, or validity ended); returns how many. */
export async function cancelPendingLogs(trx: Q, deliveryId: number): Promise<number> {
  const now = Date.now();
  const r = await trx.updateTable('delivery_logs').set({ status: LogStatus.Cancelled, updated_at: now, event_at: now }).where('delivery_id', '=', deliveryId).where('status', '=', LogStatus.Pending).executeTakeFirst();
  // Counted as deltas, not recounted: the feedback service may be changing other logs of the
  // delivery at the same moment, and a recount would overwrite its increments.
  const n = Number(r.numUpdatedRows);
  const deltas = new Map();
  addDelta(deltas, deliveryId, `status:${LogStatus.Pending}`, -n);
  addDelta(deltas, deliveryId, `status:${LogStatus.Cancelled}`, n);
  await applyDeltas(trx, deltas);
  return n;
}

/**
 * Reserves `n` log ids before the logs exist: a stream message's bytes (Message-ID, VERP
 * return path, X-Estafeta-Log) carry its log id, and composing and DKIM-signing them inside
 * the transaction that writes the log would hold SQLite's only connection meanwhile. The
 * ids come from the table's own sequence, so no other insert takes them; a reservation whose
 * transaction fails leaves a gap, nothing else.
 */
export async function reserveLogIds(db: Db, n: number): Promise<number[]> {
  if (n <= 0) return [];
  if (db.dialect === 'postgres') {
    const r = await sql<{ id: string }>`select nextval(pg_get_serial_sequence('delivery_logs', 'id')) as id from generate_series(1, ${n})`.execute(db.kysely);
    return r.rows.map((row) => Number(row.id));
  }
  // SQLite's AUTOINCREMENT never hands out an id at or below sqlite_sequence's, which may be
  // raised by hand (the documented way); the table has no row there before its first insert.
  // Each statement is atomic on its own, and the raise need not wait for the disk: after a
  // crash the ids the logs were written with raise the sequence again (AUTOINCREMENT keeps
  // it at the largest id), and reserved ids never written were never sent.
  const raise = () => db.volatile((q) => sql<{ seq: number }>`update sqlite_sequence set seq = seq + ${n} where name = 'delivery_logs' returning seq`.execute(q));
  let r = await raise();
  if (!r.rows.length) {
    await db.volatile((q) => sql`insert into sqlite_sequence (name, seq) select 'delivery_logs', coalesce((select max(id) from delivery_logs), 0) where not exists (select 1 from sqlite_sequence where name = 'delivery_logs')`.execute(q));
    r = await raise();
  }
  const last = Number(r.rows[0].seq);
  return Array.from({ length: n }, (_, i) => last - n + 1 + i);
}

/** A log of a stream message, written at once in its final or handed-over status. */
export interface StreamLog {
  id: number;
  rowNo: number;
  address: string;
  domain: string;
  /** The Message-ID its message carries (a stream's messages each have their own From domain); null when refused. */
  messageId: string | null;
  /** Null: handed to the MTA ("Taken into account"); otherwise refused (Failed, Hard) for this reason. */
  refused: 'Denylisted address' | 'Address in quarantine' | null;
}

/**
 * The logs of messages sent to a stream: "Taken into account by the service provider" at
 * once (they go to the spool in the same transaction), or Failed with a Hard type and the
 * reason a recipient was refused for (the quarantine or the denylist, when the stream applies
 * them, as the analysis records exclusions). Counter deltas in the same transaction.
 */
export async function insertStreamLogs(trx: Q, streamId: number, logs: StreamLog[], now: number): Promise<void> {
  if (!logs.length) return;
  const deltas = new Map();
  await insertChunked(
    trx,
    'delivery_logs',
    logs.map((l) => {
      const failed = l.refused !== null;
      addDelta(deltas, streamId, `status:${failed ? LogStatus.Failed : LogStatus.Taken}`, 1);
      if (failed) {
        addDelta(deltas, streamId, `reason:${failureReasonCode(l.refused!)}`, 1);
        // Final at once: counted in its minute as the feedback service counts the others.
        addDelta(deltas, streamId, `${MINUTE_PREFIX}${Math.floor(now / 60_000)}:failed`, 1);
      }
      return {
        id: l.id,
        delivery_id: streamId,
        row_no: l.rowNo,
        address: l.address,
        domain: l.domain,
        status: failed ? LogStatus.Failed : LogStatus.Taken,
        failure_type: failed ? failureTypeCode('Hard') : 0,
        failure_reason: failed ? failureReasonCode(l.refused!) : null,
        reply: failed ? `refused by the stream: ${l.refused}` : null,
        message_id: l.messageId,
        attempts: 0,
        event_at: now,
        created_at: now,
        updated_at: now,
      };
    }),
  );
  await applyDeltas(trx, deltas);
}

/** A log's state after the feedback service applied its events (the caller counts the deltas). */
export interface LogWrite {
  id: number;
  status: number;
  failureType: number;
  failureReason: number | null;
  reply: string | null;
  attempts: number;
  eventAt: number;
  sentAt: number | null;
  complainedAt: number | null;
  /** First open judged human (a human click counts as one). */
  openedAt: number | null;
  /** First click judged human. */
  clickedAt: number | null;
  /** Link ids clicked by a person, comma-separated. */
  clickedLinks: string | null;
}

type LogUpdate = [status: number, failureType: number, failureReason: number | null, reply: string | null, attempts: number, eventAt: number, sentAt: number | null, complainedAt: number | null, openedAt: number | null, clickedAt: number | null, clickedLinks: string | null, updatedAt: number, id: number];

/** One statement per changed log, built once (it runs once per message). */
const updateLog = new ReusableStatement<LogUpdate>(
  (q, [status, failureType, failureReason, reply, attempts, eventAt, sentAt, complainedAt, openedAt, clickedAt, clickedLinks, updatedAt, id]) =>
    q
      .updateTable('delivery_logs')
      .set({ status, failure_type: failureType, failure_reason: failureReason, reply, attempts, event_at: eventAt, sent_at: sentAt, complained_at: complainedAt, opened_at: openedAt, clicked_at: clickedAt, clicked_links: clickedLinks, updated_at: updatedAt })
      .where('id', '=', id),
  [1, 2, 3, 'reply', 5, 6, 7, 8, 9, 10, 'links', 12, 13],
);

export async function writeLogState(trx: Q, l: LogWrite): Promise<void> {
  await updateLog.run(trx, [l.status, l.failureType, l.failureReason, l.reply, l.attempts, l.eventAt, l.sentAt, l.complainedAt, l.openedAt, l.clickedAt, l.clickedLinks, Date.now(), l.id]);
}

const LOGS_PER_UPDATE = 5000;

/**
 * Many logs' new states. SQLite runs in the process: one prepared statement per log costs
 * microseconds. On PostgreSQL every statement is a round trip to the server, and a batch of
 * 2,000 events cost 2,000 of them in one transaction (seconds on a busy machine, which the
 * next outcomes waited behind): there, one UPDATE ... FROM unnest(arrays) per 5,000 logs.
 */
export async function writeLogStates(trx: Q, logs: LogWrite[], postgres: boolean): Promise<void> {
  if (!postgres) {
    for (const l of logs) await writeLogState(trx, l);
    return;
  }
  const now = Date.now();
  for (let i = 0; i < logs.length; i += LOGS_PER_UPDATE) {
    const part = logs.slice(i, i + LOGS_PER_UPDATE);
    const col = <K extends keyof LogWrite>(k: K) => part.map((l) => l[k]);
    await sql`update delivery_logs as l set
        status = v.status, failure_type = v.failure_type, failure_reason = v.failure_reason, reply = v.reply,
        attempts = v.attempts, event_at = v.event_at, sent_at = v.sent_at, complained_at = v.complained_at,
        opened_at = v.opened_at, clicked_at = v.clicked_at, clicked_links = v.clicked_links, updated_at = ${now}
      from unnest(${col('id')}::bigint[], ${col('status')}::integer[], ${col('failureType')}::integer[], ${col('failureReason')}::integer[],
        ${col('reply')}::text[], ${col('attempts')}::integer[], ${col('eventAt')}::bigint[], ${col('sentAt')}::bigint[],
        ${col('complainedAt')}::bigint[], ${col('openedAt')}::bigint[], ${col('clickedAt')}::bigint[], ${col('clickedLinks')}::text[])
        as v(id, status, failure_type, failure_reason, reply, attempts, event_at, sent_at, complained_at, opened_at, clicked_at, clicked_links)
      where l.id = v.id`.execute(trx);
  }
}
