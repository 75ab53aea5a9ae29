/**
 * The event stream's cursor and lease on a real database (SQLite, or PostgreSQL with
 * DATABASE_URL): the cursor starts at the last event written, moves only from where it was,
 * and one process at a time holds the lease until it lapses or is given up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../db/testing.ts';
import { markApplied, writeEvents } from '../events/index.ts';
import { advanceCursor, claimLease, readCursor, releaseLease } from './cursor.ts';

test('the cursor starts after the events already written and moves by compare-and-set', async () => {
  const t = await createTestDb();
  try {
    const q = t.db.kysely;
    await t.db.tx(async (trx) => {
      await writeEvents(trx, [1, 2, 3].map((i) => ({ key: `c.${i}`, type: 'delivered', logId: null, deliveryId: null, occurredAt: i, payload: {} })));
      await markApplied(trx, (await trx.selectFrom('events').select('id').execute()).map((r) => Number(r.id)));
    });
    const lastId = Number((await q.selectFrom('events').select((eb) => eb.fn.max<number>('id').as('m')).executeTakeFirstOrThrow()).m);
    assert.equal(await readCursor(q), lastId);
    assert.equal(await advanceCursor(q, lastId, lastId + 5), true);
    assert.equal(await advanceCursor(q, lastId, lastId + 9), false, 'a stale cursor does not win');
    assert.equal(await readCursor(q), lastId + 5);
  } finally {
    await t.cleanup();
  }
});

test('one holder of the lease at a time, until it lapses or is released', async () => {
  const t = await createTestDb();
  try {
    const q = t.db.kysely;
    assert.equal(await claimLease(q, 'a', 1000, 2000), true);
    assert.equal(await claimLease(q, 'b', 1500, 2500), false);
    assert.equal(await claimLease(q, 'a', 1500, 3000), true, 'renewed by its holder');
    assert.equal(await claimLease(q, 'b', 2999, 4000), false);
    assert.equal(await claimLease(q, 'b', 3001, 4000), true, 'taken over once lapsed');
    await releaseLease(q, 'a');
    assert.equal(await claimLease(q, 'a', 3500, 5000), false, 'a former holder cannot release it');
    await releaseLease(q, 'b');
    assert.equal(await claimLease(q, 'a', 3500, 5000), true);
  } finally {
    await t.cleanup();
  }
});
