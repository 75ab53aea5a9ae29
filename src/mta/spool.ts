/**
 * The MTA spool: one durable row per (message, recipient) from injection until its final
 * outcome. A row is due when `next_attempt_at` has passed; a worker claims due rows by
 * writing its id into `lease_owner` and its lease expiry into `next_attempt_at`, so a dead
 * worker's rows become due again when the lease runs out and another worker takes them
 * (PostgreSQL claims with FOR UPDATE SKIP LOCKED, so two workers never claim one row).
 * `held` is a Hold: Sendable (0), Paused (1, its delivery is paused) or Stopped (2: drop it).
 */
import type { Db, Q } from '../db/index.ts';
import { domainOf } from '../mail/address.ts';
import type { SpoolBodyCache } from './body-cache.ts';

export interface InjectMessage {
  logId: number | null;
  deliveryId: number | null;
  /** Scheduled-queue name; defaults to "<delivery>@<domain>" (or "default@<domain>"). */
  queue?: string;
  mailFrom: string;
  rcptTo: string;
  messageId: string | null;
  body: Buffer;
  expiresAt: number;
  /** Sending IP pool (Campaign's affinity); the default pool when absent. */
  pool?: string | null;
}

export interface SpoolMessage {
  id: number;
  logId: number | null;
  deliveryId: number | null;
  queue: string;
  domain: string;
  mailFrom: string;
  rcptTo: string;
  messageId: string | null;
  body: Buffer;
  size: number;
  attempts: number;
  expiresAt: number;
  createdAt: number;
  pool: string | null;
  /** The last reply of an earlier attempt, if any. */
  lastReply: string | null;
}

/** What `held` says of a spooled message: sendable, its delivery paused, or stopped (drop it). */
export const Hold = { Sendable: 0, Paused: 1, Stopped: 2 } as const;
export type Hold = (typeof Hold)[keyof typeof Hold];

/**
 * Writes messages to the spool in the caller's transaction; with `bodies`, also keeps their
 * bodies for this process's MTA (body-cache.ts: a rolled-back id is never claimed, and ages out).
 */
export async function enqueue(q: Q, messages: InjectMessage[], now = Date.now(), bodies?: SpoolBodyCache): Promise<void> {
  const rows = messages.map((m) => {
    const domain = domainOf(m.rcptTo);
    return {
      log_id: m.logId,
      delivery_id: m.deliveryId,
      queue: m.queue ?? `${m.deliveryId ?? 'default'}@${domain}`,
      domain,
      mail_from: m.mailFrom,
      rcpt_to: m.rcptTo,
      message_id: m.messageId,
      size: m.body.length,
      attempts: 0,
      next_attempt_at: now,
      expires_at: m.expiresAt,
      held: Hold.Sendable,
      created_at: now,
      pool: m.pool ?? null,
    };
  });
  // 15 columns: 1000 rows stay well under both engines' parameter limits.
  for (let i = 0; i < rows.length; i += 1000) {
    const part = rows.slice(i, i + 1000);
    const ids = await q.insertInto('mta_spool').values(part).returning(['id', 'rcpt_to']).execute();
    // RETURNING follows the VALUES order on both engines; check it rather than trust it.
    if (ids.length !== part.length || ids.some((r, j) => r.rcpt_to !== part[j].rcpt_to)) throw new Error('spool insert: returned rows do not match the rows inserted');
    await q
      .insertInto('mta_bodies')
      .values(ids.map((r, j) => ({ id: Number(r.id), body: messages[i + j].body })))
      .execute();
    if (bodies) ids.forEach((r, j) => bodies.put(Number(r.id), part[j].rcpt_to, part[j].message_id, messages[i + j].body, now));
  }
}

/**
 * Claims up to `limit` due messages for `owner` until `now + leaseMs`. Bodies this process
 * spooled and still holds in `cache` are not read again.
 */
export async function claim(db: Db, owner: string, limit: number, leaseMs: number, now = Date.now(), cache?: SpoolBodyCache): Promise<SpoolMessage[]> {
  // A lease needs no disk flush: after a power loss the message is due again, which is what
  // a lost lease means anyway (and a restarted SQLite MTA releases every lease).
  const rows = await db.volatile((q) => claimRows(db, q, owner, limit, leaseMs, now));
  const held = new Map<number, Buffer>();
  if (cache) {
    for (const r of rows) {
      const body = cache.take({ id: Number(r.id), rcptTo: r.rcpt_to, messageId: r.message_id, size: r.size });
      if (body) held.set(Number(r.id), body);
    }
  }
  const bodies = await readBodies(db.kysely, rows.map((r) => Number(r.id)).filter((id) => !held.has(id)));
  return rows.map((r) => toSpoolMessage(r, held.get(Number(r.id)) ?? bodies.get(Number(r.id)) ?? Buffer.alloc(0)));
}

function claimRows(db: Db, q: Q, owner: string, limit: number, leaseMs: number, now: number) {
  return q
    .updateTable('mta_spool')
    .set({ lease_owner: owner, next_attempt_at: now + leaseMs })
    .where('id', 'in', (eb) => {
      let sub = eb.selectFrom('mta_spool').select('id').where('held', '=', Hold.Sendable).where('next_attempt_at', '<=', now).orderBy('next_attempt_at').limit(limit);
      if (db.dialect === 'postgres') sub = sub.forUpdate().skipLocked();
      return sub;
    })
    .returningAll()
    .execute();
}

function toSpoolMessage(r: Awaited<ReturnType<typeof claimRows>>[number], body: Buffer): SpoolMessage {
  return {
    id: Number(r.id),
    logId: r.log_id === null ? null : Number(r.log_id),
    deliveryId: r.delivery_id === null ? null : Number(r.delivery_id),
    queue: r.queue,
    domain: r.domain,
    mailFrom: r.mail_from,
    rcptTo: r.rcpt_to,
    messageId: r.message_id,
    body,
    size: r.size,
    attempts: r.attempts,
    expiresAt: Number(r.expires_at),
    createdAt: Number(r.created_at),
    pool: r.pool,
    lastReply: r.last_reply,
  };
}

async function readBodies(q: Q, ids: number[]): Promise<Map<number, Buffer>> {
  const out = new Map<number, Buffer>();
  for (let i = 0; i < ids.length; i += 5000) {
    for (const b of await q.selectFrom('mta_bodies').select(['id', 'body']).where('id', 'in', ids.slice(i, i + 5000)).execute()) {
      out.set(Number(b.id), Buffer.isBuffer(b.body) ? b.body : Buffer.from(b.body as Uint8Array));
    }
  }
  return out;
}

/** Final outcome: the row and its body leave the spool. Only rows still leased by `owner` are removed. */
export async function removeMessages(q: Q, owner: string, ids: number[]): Promise<number> {
  let removed = 0;
  for (let i = 0; i < ids.length; i += 5000) {
    const gone = await q.deleteFrom('mta_spool').where('id', 'in', ids.slice(i, i + 5000)).where('lease_owner', '=', owner).returning('id').execute();
    if (gone.length) await q.deleteFrom('mta_bodies').where('id', 'in', gone.map((r) => r.id)).execute();
    removed += gone.length;
  }
  return removed;
}

/**
 * Puts messages back to wait, without counting an attempt, saying why (throttled, suspended,
 * warm-up cap). Messages with the same time and reason go back in one statement: a site
 * with a large backlog can send thousands back at once.
 */
export async function releaseUntil(db: Db, owner: string, items: { id: number; at: number; reason: string }[]): Promise<void> {
  const groups = new Map<string, { at: number; reason: string; ids: number[] }>();
  for (const it of items) {
    const at = Math.round(it.at);
    const key = `${at}|${it.reason}`;
    const g = groups.get(key);
    if (g) g.ids.push(it.id);
    else groups.set(key, { at, reason: it.reason.slice(0, 500), ids: [it.id] });
  }
  await db.tx(async (trx) => {
    for (const g of groups.values()) {
      for (let i = 0; i < g.ids.length; i += 2000) {
        await trx.updateTable('mta_spool').set({ lease_owner: null, next_attempt_at: g.at, wait_reason: g.reason }).where('id', 'in', g.ids.slice(i, i + 2000)).where('lease_owner', '=', owner).execute();
      }
    }
  });
}

/** Temporary failure: count the attempt and schedule the next one. */
export async function reschedule(q: Q, owner: string, id: number, nextAttemptAt: number, lastReply: string, countAttempt: boolean): Promise<void> {
  await q
    .updateTable('mta_spool')
    .set((eb) => ({
      next_attempt_at: Math.round(nextAttemptAt),
      lease_owner: null,
      last_reply: lastReply,
      wait_reason: `retry after: ${lastReply}`.slice(0, 500),
      attempts: countAttempt ? eb('attempts', '+', 1) : eb.ref('attempts'),
    }))
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .execute();
}

/**
 * Pushes the lease forward for the rows `owner` still has in memory (called well before it
 * expires). Only those: a row it lost track of must become due again for another worker.
 */
export async function renewLeases(q: Q, owner: string, ids: number[], until: number): Promise<void> {
  for (let i = 0; i < ids.length; i += 5000) {
    await q.updateTable('mta_spool').set({ next_attempt_at: until }).where('id', 'in', ids.slice(i, i + 5000)).where('lease_owner', '=', owner).execute();
  }
}

/** Gives rows back without counting an attempt (shutdown, pause, site saturated). */
export async function release(q: Q, owner: string, ids: number[], at = Date.now()): Promise<void> {
  for (let i = 0; i < ids.length; i += 5000) {
    await q.updateTable('mta_spool').set({ lease_owner: null, next_attempt_at: at }).where('id', 'in', ids.slice(i, i + 5000)).where('lease_owner', '=', owner).execute();
  }
}

/** With one MTA process (SQLite), leases left by a crashed run can be taken back at once. */
export async function releaseAllLeases(q: Q, at = Date.now()): Promise<number> {
  const r = await q.updateTable('mta_spool').set({ lease_owner: null, next_attempt_at: at }).where('lease_owner', 'is not', null).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Rows `owner` holds whose delivery was paused or stopped since it claimed them. */
export async function heldLeases(q: Q, owner: string): Promise<{ id: number; held: number }[]> {
  const rows = await q.selectFrom('mta_spool').select(['id', 'held']).where('lease_owner', '=', owner).where('held', '>', 0).execute();
  return rows.map((r) => ({ id: Number(r.id), held: r.held }));
}

/** Pause (1), resume (0) or stop (2) every spooled message of a delivery. */
export async function setDeliveryHold(q: Q, deliveryId: number, held: Hold): Promise<number> {
  let query = q.updateTable('mta_spool').set({ held }).where('delivery_id', '=', deliveryId);
  // A stop is final: resuming must not revive stopped messages.
  if (held !== Hold.Stopped) query = query.where('held', '!=', Hold.Stopped);
  const r = await query.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Leases to `owner` the stopped messages nobody is sending right now (never leased, or
 * their lease ran out), so that their removal and their cancelled events commit together
 * through the outcome writer; bodies are not read.
 */
export async function leaseStopped(q: Q, owner: string, leaseMs: number, now = Date.now(), limit = 5000): Promise<SpoolMessage[]> {
  const rows = await q
    .updateTable('mta_spool')
    .set({ lease_owner: owner, next_attempt_at: now + leaseMs })
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('mta_spool')
        .select('id')
        .where('held', '=', Hold.Stopped)
        .where((w) => w.or([w('lease_owner', 'is', null), w('next_attempt_at', '<=', now)]))
        .limit(limit),
    )
    .returningAll()
    .execute();
  return rows.map((r) => toSpoolMessage(r, Buffer.alloc(0)));
}

export interface SpoolStats {
  total: number;
  due: number;
  leased: number;
  held: number;
  oldestCreatedAt: number | null;
}

export async function spoolStats(q: Q, now = Date.now()): Promise<SpoolStats> {
  const r = await q
    .selectFrom('mta_spool')
    .select((eb) => [
      eb.fn.countAll<number>().as('total'),
      eb.fn.sum<number>(eb.case().when(eb.and([eb('held', '=', Hold.Sendable), eb('next_attempt_at', '<=', now)])).then(1).else(0).end()).as('due'),
      eb.fn.sum<number>(eb.case().when('lease_owner', 'is not', null).then(1).else(0).end()).as('leased'),
      eb.fn.sum<number>(eb.case().when('held', '>', 0).then(1).else(0).end()).as('held'),
      eb.fn.min<number>('created_at').as('oldest'),
    ])
    .executeTakeFirst();
  return { total: Number(r?.total ?? 0), due: Number(r?.due ?? 0), leased: Number(r?.leased ?? 0), held: Number(r?.held ?? 0), oldestCreatedAt: r?.oldest == null ? null : Number(r.oldest) };
}
