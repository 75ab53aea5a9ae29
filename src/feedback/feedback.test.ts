/**
 * The feedback service's batch against a real database (SQLite, or PostgreSQL with
 * DATABASE_URL), where PostgreSQL writes a batch's logs with one UPDATE from arrays: every
 * log gets its own new state, replies with quotes, backslashes, commas, braces and
 * non-ASCII text come back as written, NULLs stay NULL, and the counters follow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../db/testing.ts';
import { insertChunked } from '../db/index.ts';
import { silentLogger } from '../lib/logger.ts';
import { getCounters, LogStatus } from '../deliveries/index.ts';
import { DeliveryState } from '../deliveries/states.ts';
import { FeedbackService } from './feedback.ts';

const POLICY = { maxErrors: 5, significantErrorDelayMs: 6 * 3_600_000, resetAfterMs: 30 * 86_400_000, mailboxFullReleaseMs: 7 * 86_400_000 };
const HARD = { category: 'user-unknown', failureType: 'Hard', failureReason: 'User unknown', disposition: 'fail-quarantine', ruleId: 'r1' };
const AWKWARD = [`250 2.0.0 "queued", as {4ABC}`, '250 ok \\ back\\slash, NULL', '250 Zugestellt: Grüße ✓', ''];

test('a feedback batch gives each log its own state, awkward replies intact, and counts them', { timeout: 60_000 }, async () => {
  const t = await createTestDb();
  const db = t.db;
  try {
    const now = Date.now();
    const d = await db.kysely
      .insertInto('deliveries')
      .values({ label: 'fb', state: DeliveryState.InProgress, from_name: '', from_address: 'news@shop.example', reply_to: null, subject: 'Hi', html: null, text: 'Hi', headers: '{}', unsubscribe_url: null, validity_ms: 86_400_000, created_at: now, updated_at: now } as never)
      .returning('id')
      .executeTakeFirstOrThrow();
    const deliveryId = Number(d.id);
    const n = 2500; // more than one batch of the service (2,000 events)
    await insertChunked(db.kysely, 'delivery_logs', Array.from({ length: n }, (_, i) => ({ delivery_id: deliveryId, row_no: i + 1, address: `r${i}@x.test`, domain: 'x.test', status: LogStatus.Taken, failure_type: 0, failure_reason: null, reply: null, message_id: null, attempts: 0, event_at: now - 1000, created_at: now, updated_at: now })) as never);
    const ids = (await db.kysely.selectFrom('delivery_logs').select('id').where('delivery_id', '=', deliveryId).orderBy('id').execute()).map((r) => Number(r.id));
    // Every tenth log bounces; the others are delivered with one of the awkward replies.
    const events = ids.map((logId, i) => {
      const payload = i % 10 === 9 ? { reply: `550 5.1.1 <r${i}@x.test> "unknown"`, qualification: HARD, attempt: 1 } : { reply: AWKWARD[i % AWKWARD.length], attempt: 1 };
      return { key: `t.${logId}`, type: i % 10 === 9 ? 'bounced' : 'delivered', log_id: logId, delivery_id: deliveryId, occurred_at: now + i, payload: JSON.stringify(payload), applied_at: null, created_at: now };
    });
    await insertChunked(db.kysely, 'events', events as never);
    await db.kysely.insertInto('delivery_counters').values({ delivery_id: deliveryId, name: `status:${LogStatus.Taken}`, value: n }).execute();

    const feedback = new FeedbackService({ db, logger: silentLogger, quarantinePolicy: () => POLICY });
    assert.equal(await feedback.step(), 2000);
    assert.equal(await feedback.step(), 500);
    assert.equal(await feedback.step(), 0);

    const logs = await db.kysely.selectFrom('delivery_logs').select(['id', 'status', 'failure_type', 'failure_reason', 'reply', 'attempts', 'event_at', 'sent_at', 'opened_at']).where('delivery_id', '=', deliveryId).orderBy('id').execute();
    logs.forEach((l, i) => {
      const at = now + i;
      if (i % 10 === 9) {
        assert.deepEqual([l.status, l.reply, Number(l.event_at), l.sent_at], [LogStatus.Failed, `550 5.1.1 <r${i}@x.test> "unknown"`, at, null], `log ${i} bounced`);
        assert.ok(l.failure_type > 0 && l.failure_reason !== null, `log ${i} has its failure type and reason`);
      } else {
        assert.deepEqual([l.status, l.failure_type, l.failure_reason, l.reply, Number(l.sent_at), l.opened_at, l.attempts], [LogStatus.Sent, 0, null, AWKWARD[i % AWKWARD.length], at, null, 1], `log ${i} delivered`);
      }
    });
    const counters = await getCounters(db.kysely, deliveryId);
    assert.equal(counters[`status:${LogStatus.Sent}`], n - n / 10);
    assert.equal(counters[`status:${LogStatus.Failed}`], n / 10);
    assert.equal(counters[`status:${LogStatus.Taken}`] ?? 0, 0);
  } finally {
    await t.cleanup();
  }
});
