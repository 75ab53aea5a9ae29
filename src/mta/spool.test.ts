/**
 * The spool's leases against a real database (SQLite by default, PostgreSQL when
 * DATABASE_URL names one): a claimed row is not claimed again by another owner until its
 * lease runs out, release puts it back, held rows are never claimed; and a stopped
 * message's cancelled event goes through the outcome writer, keyed like the others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../db/testing.ts';
import { silentLogger } from '../lib/logger.ts';
import { cancelOutcome } from './outcome.ts';
import { OutcomeWriter } from './outcome-writer.ts';
import { SpoolBodyCache } from './body-cache.ts';
import { claim, enqueue, Hold, leaseStopped, release, renewLeases, setDeliveryHold, spoolStats, type InjectMessage } from './spool.ts';

const T = 1_800_000_000_000;
const LEASE = 60_000;

function messages(n: number, deliveryId: number | null = 1): InjectMessage[] {
  return Array.from({ length: n }, (_, i) => ({ logId: 100 + i, deliveryId, mailFrom: 'from@sender.test', rcptTo: `to${i}@example.test`, messageId: null, body: Buffer.from(`body ${i}`), expiresAt: T + 86_400_000 }));
}

test('a claimed row is not claimed by another owner until its lease runs out; its body comes with it', async () => {
  const { db, cleanup } = await createTestDb();
  try {
    await enqueue(db.kysely, messages(3), T);
    const a = await claim(db, 'mta-a', 10, LEASE, T);
    assert.equal(a.length, 3);
    assert.deepEqual(a.map((m) => m.body.toString()).sort(), ['body 0', 'body 1', 'body 2']);
    assert.equal((await claim(db, 'mta-b', 10, LEASE, T + 1)).length, 0, 'leased rows are not due');
    assert.equal((await claim(db, 'mta-b', 10, LEASE, T + LEASE - 1)).length, 0, 'not before the lease ends');
    const b = await claim(db, 'mta-b', 10, LEASE, T + LEASE);
    assert.deepEqual(b.map((m) => m.id).sort(), a.map((m) => m.id).sort(), 'a dead owner’s rows are taken when its lease runs out');
  } finally {
    await cleanup();
  }
});

test('claim takes at most the limit, and a renewed lease keeps the rows', async () => {
  const { db, cleanup } = await createTestDb();
  try {
    await enqueue(db.kysely, messages(5), T);
    const a = await claim(db, 'mta-a', 2, LEASE, T);
    assert.equal(a.length, 2);
    await renewLeases(db.kysely, 'mta-a', a.map((m) => m.id), T + 3 * LEASE);
    await renewLeases(db.kysely, 'mta-b', a.map((m) => m.id), T);
    const b = await claim(db, 'mta-b', 10, LEASE, T + 2 * LEASE);
    assert.equal(b.length, 3, 'only the rows never claimed, then expired');
    assert.ok(b.every((m) => !a.some((x) => x.id === m.id)), 'another owner cannot shorten a lease');
  } finally {
    await cleanup();
  }
});

test('release puts the rows back, due at the given time; only the owner can release them', async () => {
  const { db, cleanup } = await createTestDb();
  try {
    await enqueue(db.kysely, messages(2), T);
    const a = await claim(db, 'mta-a', 10, LEASE, T);
    await release(db.kysely, 'mta-b', a.map((m) => m.id), T);
    assert.equal((await claim(db, 'mta-b', 10, LEASE, T + 1)).length, 0, 'someone else’s release changes nothing');
    await release(db.kysely, 'mta-a', a.map((m) => m.id), T + 500);
    assert.equal((await claim(db, 'mta-b', 10, LEASE, T + 499)).length, 0, 'not due before the time given');
    const b = await claim(db, 'mta-b', 10, LEASE, T + 500);
    assert.equal(b.length, 2);
    assert.ok(b.every((m) => m.attempts === 0), 'a release does not count an attempt');
  } finally {
    await cleanup();
  }
});

test('held rows (paused or stopped deliveries) are never claimed; resuming a pause makes them due again', async () => {
  const { db, cleanup } = await createTestDb();
  try {
    await enqueue(db.kysely, messages(2, 1), T);
    await enqueue(db.kysely, messages(2, 2), T);
    await setDeliveryHold(db.kysely, 1, Hold.Paused);
    await setDeliveryHold(db.kysely, 2, Hold.Stopped);
    assert.equal((await claim(db, 'mta-a', 10, LEASE, T + 10 * LEASE)).length, 0);
    assert.equal((await spoolStats(db.kysely, T)).held, 4);
    await setDeliveryHold(db.kysely, 1, 0);
    await setDeliveryHold(db.kysely, 2, 0);
    const a = await claim(db, 'mta-a', 10, LEASE, T);
    assert.deepEqual(a.map((m) => m.deliveryId), [1, 1], 'a stop is final: resuming does not revive stopped rows');
  } finally {
    await cleanup();
  }
});

test('stopped rows nobody sends are leased once and leave the spool with one cancelled event each, keyed like the others', async () => {
  const { db, cleanup } = await createTestDb();
  try {
    await enqueue(db.kysely, messages(3, 4), T);
    const busy = await claim(db, 'mta-b', 1, LEASE, T);
    await setDeliveryHold(db.kysely, 4, Hold.Stopped);
    const stopped = await leaseStopped(db.kysely, 'mta-a', LEASE, T + 1);
    assert.equal(stopped.length, 2, 'not the row another process is sending');
    assert.ok(!stopped.some((m) => m.id === busy[0].id));
    assert.equal((await leaseStopped(db.kysely, 'mta-c', LEASE, T + 2)).length, 0, 'leased rows are not taken twice');
    const writer = new OutcomeWriter(db, 'mta-a', silentLogger, { maxBatch: 100, maxDelayMs: 10, onFlushed: () => {} });
    for (const m of stopped) writer.add(cancelOutcome(m, T + 3));
    await writer.flush();
    // Written again (a retried batch, or the same row seen twice): stored once.
    for (const m of stopped) writer.add(cancelOutcome(m, T + 4));
    await writer.flush();
    const events = await db.kysely.selectFrom('events').selectAll().orderBy('id').execute();
    assert.deepEqual(events.map((e) => e.key), stopped.map((m) => `mta.${m.id}.1.cancelled`));
    assert.deepEqual(events.map((e) => [e.type, Number(e.log_id), Number(e.delivery_id), Number(e.occurred_at)]), stopped.map((m) => ['cancelled', m.logId, 4, T + 3]));
    assert.deepEqual(JSON.parse(events[0].payload), { reply: 'delivery stopped by an operator' });
    assert.equal((await spoolStats(db.kysely, T)).total, 1, 'the stopped rows left the spool with their events');
  } finally {
    await cleanup();
  }
});

test('with a body cache, claimed bodies come from it (and only for the rows they were spooled for), the rest from the database', async () => {
  const { db, cleanup } = await createTestDb();
  try {
    const cache = new SpoolBodyCache(Buffer.byteLength('body 0') * 2);
    const m = messages(3).map((x, i) => ({ ...x, messageId: `<${i}@sender.test>` }));
    await enqueue(db.kysely, m, T, cache);
    assert.equal(cache.size, 2, 'the third body found no room');
    const a = await claim(db, 'mta-a', 10, LEASE, T, cache);
    assert.deepEqual(a.map((x) => x.body.toString()).sort(), ['body 0', 'body 1', 'body 2']);
    assert.deepEqual({ hits: cache.hits, misses: cache.misses, size: cache.size }, { hits: 2, misses: 1, size: 0 });
    // Taken once: claimed again after the lease, the bodies are read from the database.
    const b = await claim(db, 'mta-b', 10, LEASE, T + LEASE, cache);
    assert.deepEqual(b.map((x) => x.body.toString()).sort(), ['body 0', 'body 1', 'body 2']);
  } finally {
    await cleanup();
  }
});
