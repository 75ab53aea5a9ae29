import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../db/testing.ts';
import { LogStatus, MINUTE_PREFIX } from '../deliveries/index.ts';
import { getThroughputReport } from './throughput-report.ts';

async function delivery(db: Awaited<ReturnType<typeof createTestDb>>['db'], startedAt: number, toDeliver: number): Promise<number> {
  const row = await db.kysely
    .insertInto('deliveries')
    .values({ label: 't', state: 55, from_name: '', from_address: 'a@shop.test', subject: 's', headers: '{}', validity_ms: 86_400_000, to_deliver: toDeliver, targeted: toDeliver, created_at: startedAt, updated_at: startedAt, started_at: startedAt } as never)
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

test('a three-hour delivery: 2-minute buckets from the counters, the rate of the last five minutes and an estimated end', async () => {
  const t = await createTestDb();
  try {
    const now = Date.UTC(2026, 11, 3, 15, 0, 30);
    const start = now - 3 * 3600_000;
    const id = await delivery(t.db, start, 100_000);
    const counters: { delivery_id: number; name: string; value: number }[] = [];
    // 100 a minute for three hours, then 600 a minute for the last ten minutes.
    for (let m = Math.floor(start / 60_000); m < Math.floor(now / 60_000); m++) counters.push({ delivery_id: id, name: `${MINUTE_PREFIX}${m}:sent`, value: m >= Math.floor(now / 60_000) - 10 ? 600 : 100 });
    const done = counters.reduce((a, c) => a + c.value, 0);
    counters.push({ delivery_id: id, name: `status:${LogStatus.Sent}`, value: done });
    await t.db.kysely.insertInto('delivery_counters').values(counters).execute();
    const r = await getThroughputReport(t.db.kysely, id, now);
    assert.equal(r.bucketSeconds, 120);
    assert.ok(r.points.length >= 90 && r.points.length <= 92, String(r.points.length));
    assert.equal(r.points.reduce((a, p) => a + p.sent, 0), done);
    assert.equal(r.currentPerMinute, 600);
    assert.equal(r.remaining, 100_000 - done);
    assert.equal(Date.parse(r.estimatedEndAt!), now + ((100_000 - done) / 600) * 60_000);
  } finally {
    await t.cleanup();
  }
});

test('a 90-second delivery: 5-second buckets read from the logs; failures of the analysis are not throughput', async () => {
  const t = await createTestDb();
  try {
    const start = Date.UTC(2026, 11, 3, 15, 0, 0);
    const now = start + 90_000;
    const id = await delivery(t.db, start, 40);
    const log = (i: number, status: number, at: number) => ({ delivery_id: id, row_no: i, address: `u${i}@x.test`, domain: 'x.test', status, failure_type: 0, attempts: 1, event_at: at, created_at: start, updated_at: at });
    const logs = [...Array.from({ length: 30 }, (_, i) => log(i, LogStatus.Sent, start + 1000 + i * 2000)), ...Array.from({ length: 5 }, (_, i) => log(30 + i, LogStatus.Failed, start + 60_000 + i)), log(35, LogStatus.Failed, start - 5000)];
    await t.db.kysely.insertInto('delivery_logs').values(logs).execute();
    await t.db.kysely.insertInto('delivery_counters').values([{ delivery_id: id, name: `status:${LogStatus.Sent}`, value: 30 }, { delivery_id: id, name: `status:${LogStatus.Failed}`, value: 6 }]).execute();
    const r = await getThroughputReport(t.db.kysely, id, now);
    assert.equal(r.bucketSeconds, 5);
    assert.equal(r.points.length, 19);
    assert.equal(r.points.reduce((a, p) => a + p.sent, 0), 30);
    assert.equal(r.points.reduce((a, p) => a + p.failed, 0), 5, 'the failure written at analysis, before the start, is left out');
    assert.equal(r.remaining, 4);
    assert.ok(r.currentPerMinute > 0 && r.estimatedEndAt !== null);
  } finally {
    await t.cleanup();
  }
});
