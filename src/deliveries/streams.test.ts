import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../db/testing.ts';
import { createStream, admitToStream, getStreamRow, insertStreamLogs, insertStreamTargets, reserveLogIds, insertLogs, getCounters, LogStatus, pauseDelivery, confirmDelivery, listDeliveries } from './index.ts';

const t = await createTestDb();
after(() => t.cleanup());
const defaults = { defaultValidityMs: 86_400_000, maxValidityMs: 5 * 86_400_000 };

test('reserved log ids are unique and never taken by a later insert', async () => {
  const a = await reserveLogIds(t.db, 3);
  const b = await reserveLogIds(t.db, 2);
  assert.equal(new Set([...a, ...b]).size, 5);
  assert.ok(Math.min(...b) > Math.max(...a));
  const s = await createStream(t.db, { name: 'ids', fromDomains: ['app.example'] }, defaults);
  const now = Date.now();
  await insertLogs(t.db.kysely, [{ delivery_id: s.id, row_no: 99, address: 'x@a.test', domain: 'a.test', status: LogStatus.Pending, failure_type: 0, attempts: 0, event_at: now, created_at: now, updated_at: now }]);
  const auto = await t.db.kysely.selectFrom('delivery_logs').select('id').where('row_no', '=', 99).executeTakeFirstOrThrow();
  assert.ok(Number(auto.id) > Math.max(...b), `an autoincrement id (${auto.id}) after the reserved ones`);
});

test('messages admitted to a stream get row numbers, logs and counters; a paused stream admits none', async () => {
  const s = await createStream(t.db, { name: 'resets', fromDomains: ['app.example'] }, defaults);
  const ids = await reserveLogIds(t.db, 2);
  await t.db.tx(async (trx) => {
    const row = await admitToStream(trx, s.id, { targeted: 2, toDeliver: 1, excluded: 1 });
    assert.equal(row, 1);
    await insertStreamTargets(trx, [{ streamId: s.id, rowNo: 1, email: 'a@x.test', data: { tags: ['t'] } }, { streamId: s.id, rowNo: 2, email: 'b@x.test', data: {} }]);
    await insertStreamLogs(trx, s.id, [
      { id: ids[0], rowNo: 1, address: 'a@x.test', domain: 'x.test', refused: null, messageId: '<1.a.x@app.example>' },
      { id: ids[1], rowNo: 2, address: 'b@x.test', domain: 'x.test', refused: 'Denylisted address', messageId: null },
    ], Date.now());
  });
  const c = await getCounters(t.db.kysely, s.id);
  assert.equal(c[`status:${LogStatus.Taken}`], 1);
  assert.equal(c[`status:${LogStatus.Failed}`], 1);
  const row = await getStreamRow(t.db.kysely, 'resets');
  assert.deepEqual([row.targeted, row.to_deliver, row.excluded], [2, 1, 1]);
  await t.db.tx(async (trx) => assert.equal(await admitToStream(trx, s.id, { targeted: 1, toDeliver: 1, excluded: 0 }), 3));
  await pauseDelivery(t.db, s.id);
  // Refused inside a transaction that goes on (another stream of the batch): nothing counted.
  await t.db.tx(async (trx) => {
    await assert.rejects(admitToStream(trx, s.id, { targeted: 1, toDeliver: 1, excluded: 0 }), /resume it to send/);
  });
  assert.equal((await getStreamRow(t.db.kysely, s.id)).targeted, 3);
  await assert.rejects(confirmDelivery(t.db, s.id), /a stream can be paused and resumed/);
  assert.ok(!(await listDeliveries(t.db)).some((d) => d.id === s.id));
});
