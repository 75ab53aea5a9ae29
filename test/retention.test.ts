/**
 * Retention on SQLite and PostgreSQL: the purge deletes the logs (with their events) of
 * final deliveries older than the logs' retention and only the events of those older than
 * the events' retention, in batches; it keeps a log whose event is not applied yet until a
 * later run, never touches a delivery still sending, and leaves every delivery row and its
 * counters. A dry run counts the same figures and deletes nothing. Also `estafeta purge`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createTestDb } from '../src/db/testing.ts';
import { insertChunked, type Db } from '../src/db/index.ts';
import { purgeOldData, retentionCutoffs } from '../src/retention/index.ts';
import { deliveriesToPurge, listAudit } from '../src/deliveries/index.ts';

const DAY = 86_400_000;

async function delivery(db: Db, state: number, finishedDaysAgo: number | null, logs: number): Promise<number> {
  const now = Date.now();
  const at = finishedDaysAgo === null ? null : now - finishedDaysAgo * DAY;
  const row = await db.kysely
    .insertInto('deliveries')
    .values({ label: `d${state}`, state, from_name: '', from_address: 'news@shop.example', reply_to: null, subject: 'Hi', html: null, text: 'Hi', headers: '{}', unsubscribe_url: null, validity_ms: DAY, valid_until: null, analyzed_version: null, analysis: null, created_at: (at ?? now) - DAY, updated_at: at ?? now, confirmed_at: null, started_at: null, finished_at: at, sender_owner: null, sender_until: null, last_error: null, ip_pool: null } as never)
    .returning('id')
    .executeTakeFirstOrThrow();
  const id = Number(row.id);
  const created = (at ?? now) - DAY;
  await insertChunked(db.kysely, 'delivery_logs', Array.from({ length: logs }, (_, i) => ({ delivery_id: id, row_no: i + 1, address: `r${i}@x.test`, domain: 'x.test', status: 2, failure_type: 0, failure_reason: null, reply: '250 ok', message_id: null, attempts: 1, event_at: created, created_at: created, updated_at: created, sent_at: created })) as never);
  const ids = (await db.kysely.selectFrom('delivery_logs').select('id').where('delivery_id', '=', id).execute()).map((r) => Number(r.id));
  // Two applied events per log, as the MTA and the feedback service leave them.
  await insertChunked(db.kysely, 'events', ids.flatMap((logId) => ['delivered', 'opened'].map((type) => ({ key: `t.${logId}.${type}`, type, log_id: logId, delivery_id: id, occurred_at: created, payload: '{}', applied_at: created, created_at: created }))) as never);
  await db.kysely.insertInto('delivery_counters').values([{ delivery_id: id, name: 'sent', value: logs }, { delivery_id: id, name: 'opened', value: logs }]).execute();
  return id;
}

const count = async (db: Db, table: 'delivery_logs' | 'events' | 'delivery_counters', deliveryId: number) =>
  Number((await db.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('delivery_id', '=', deliveryId).executeTakeFirstOrThrow()).n);

test('retention purges old logs and events in batches, keeps deliveries and counters, and waits for unapplied events', { timeout: 120_000 }, async () => {
  const t = await createTestDb();
  const db = t.db;
  try {
    const old = await delivery(db, 95, 100, 5000); // logs and events go
    const stopped = await delivery(db, 85, 95, 10); // a stopped delivery is final too
    const recent = await delivery(db, 95, 10, 10); // only its events go
    const fresh = await delivery(db, 95, 2, 10); // kept whole
    const sending = await delivery(db, 55, null, 10); // never touched
    // One log of the old delivery has an event the feedback service has not applied.
    const pendingLog = Number((await db.kysely.selectFrom('delivery_logs').select('id').where('delivery_id', '=', old).orderBy('id').limit(1).executeTakeFirstOrThrow()).id);
    await db.kysely.insertInto('events').values({ key: 'late.click', type: 'clicked', log_id: pendingLog, delivery_id: old, occurred_at: Date.now(), payload: '{}', applied_at: null, created_at: Date.now() }).execute();

    const cutoffs = retentionCutoffs({ logs: '90d', events: '7d' });
    const dry = await purgeOldData(db, { ...cutoffs, dryRun: true });
    assert.deepEqual({ deliveries: dry.deliveries, logs: dry.logs, events: dry.events }, { deliveries: 3, logs: 5010, events: 10001 + 20 + 20 });
    assert.equal(await count(db, 'delivery_logs', old), 5000, 'a dry run deletes nothing');

    const run = await purgeOldData(db, { ...cutoffs, batchSize: 2000, pauseMs: 0 });
    console.log(`retention (${db.dialect}): ${run.logs} logs and ${run.events} events of ${run.deliveries} deliveries purged in ${run.ms} ms, batches of 2000 logs; ${run.keptBack} kept back`);
    assert.deepEqual({ logs: run.logs, events: run.events, keptBack: run.keptBack }, { logs: 4999 + 10, events: 9999 + 1 + 20 + 20, keptBack: 1 });
    assert.equal(await count(db, 'delivery_logs', old), 1, 'the log with an unapplied event stays');
    assert.equal(await count(db, 'events', old), 1);
    assert.equal(await count(db, 'delivery_logs', stopped), 0);
    assert.equal(await count(db, 'delivery_logs', recent), 10, 'logs younger than their retention stay');
    assert.equal(await count(db, 'events', recent), 0, 'events older than theirs go');
    for (const id of [fresh, sending]) {
      assert.equal(await count(db, 'delivery_logs', id), 10);
      assert.equal(await count(db, 'events', id), 20);
    }
    // The KPIs stay: every delivery keeps its row and its counters.
    for (const id of [old, stopped, recent, fresh, sending]) assert.equal(await count(db, 'delivery_counters', id), 2);
    assert.equal((await db.kysely.selectFrom('deliveries').select('id').execute()).length, 5);
    assert.deepEqual((await listAudit(db.kysely, stopped)).map((a) => [a.action, a.detail]), [['logs purged', { logs: 10, events: 20, olderThan: new Date(cutoffs.logsBefore!).toISOString() }]]);
    assert.deepEqual((await listAudit(db.kysely, recent)).map((a) => a.action), ['events purged']);
    assert.deepEqual(await listAudit(db.kysely, old), [], 'not marked while a log is kept back');

    // Once applied, the next run takes the last log; then there is nothing left to walk.
    await db.kysely.updateTable('events').set({ applied_at: Date.now() }).where('key', '=', 'late.click').execute();
    const again = await purgeOldData(db, { ...cutoffs, pauseMs: 0 });
    assert.deepEqual({ logs: again.logs, events: again.events, keptBack: again.keptBack }, { logs: 1, events: 1, keptBack: 0 });
    assert.equal(await count(db, 'delivery_logs', old), 0);
    assert.deepEqual(await deliveriesToPurge(db.kysely, 'logs', cutoffs.logsBefore!), []);
    assert.deepEqual(await deliveriesToPurge(db.kysely, 'events', cutoffs.eventsBefore!), []);
    const third = await purgeOldData(db, { ...cutoffs, pauseMs: 0 });
    assert.deepEqual({ deliveries: third.deliveries, logs: third.logs, events: third.events }, { deliveries: 0, logs: 0, events: 0 });
  } finally {
    await t.cleanup();
  }
});

test('estafeta purge --dry-run counts, then deletes; a retention under a day is refused', { timeout: 120_000 }, async () => {
  const t = await createTestDb();
  try {
    const id = await delivery(t.db, 95, 40, 30);
    const cli = (...args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'purge', ...args, '--database', t.url], { cwd: new URL('..', import.meta.url).pathname, env: { ...process.env, DATABASE_URL: '' } }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e) => ({ code: e.code as number, out: `${e.stdout}${e.stderr}` }),
    );
    const dry = await cli('--older-than', '30d', '--dry-run');
    assert.equal(dry.code, 0, dry.out);
    assert.match(dry.out, /would delete 30 logs and 60 events of 1 deliveries/);
    assert.equal(await count(t.db, 'delivery_logs', id), 30);
    const real = await cli('--older-than', '30d');
    assert.match(real.out, /deleted 30 logs and 60 events of 1 deliveries/);
    assert.equal(await count(t.db, 'delivery_logs', id), 0);
    assert.equal(await count(t.db, 'delivery_counters', id), 2);
    const refused = await cli('--older-than', '2h');
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, /--older-than: must be off or a duration of at least a day/);
  } finally {
    await t.cleanup();
  }
});
