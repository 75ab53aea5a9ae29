import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../db/testing.ts';
import { analyzeDelivery } from '../analysis/index.ts';
import { confirmDelivery, createDelivery, counter, getCounters, getDeliveryRow, LogStatus, DeliveryState } from '../deliveries/index.ts';
import { enqueue, setDeliveryHold, type InjectMessage } from '../mta/index.ts';
import { silentLogger } from '../lib/logger.ts';
import { Sender } from './sender.ts';

// The validity period can end while a batch is being signed: the sender cancels the Pending
// logs, and the batch, when its signatures come back, must hand none of them to the MTA. The
// delivery goes on meanwhile (an earlier batch is in the MTA), so only the logs' own status
// can tell.
test('logs cancelled at the validity end while their batch is being signed never reach the MTA', async () => {
  const { db, cleanup } = await createTestDb();
  let sender: Sender | null = null;
  try {
    const recipients = Array.from({ length: 6 }, (_, i) => ({ email: `r${i}@race.test`, firstName: `R${i}` }));
    const d = await createDelivery(db, { label: 'race', from: { name: 'Shop', address: 'news@shop.test' }, subject: 'Hi {{ firstName }}', text: 'Hello {{ firstName }}. Unsubscribe: {{ unsubscribeUrl }}', validity: '1h', recipients }, { defaultValidityMs: 3_600_000, maxValidityMs: 7 * 86_400_000 });
    await analyzeDelivery(db, d.id, { limits: { warnSizeBytes: 1e6, maxSizeBytes: 1e7, estimatedRatePerSecond: 1000 } });
    await confirmDelivery(db, d.id);

    // The second batch's signing waits until the test lets it go: the window in which the
    // validity ends.
    let batches = 0;
    let signing: () => void = () => {};
    const signingStarted = new Promise<void>((r) => (signing = r));
    let release: () => void = () => {};
    const released = new Promise<void>((r) => (release = r));
    sender = new Sender({
      db,
      logger: silentLogger,
      signer: {
        sign: async (messages: InjectMessage[]) => {
          if (++batches === 1) return messages;
          signing();
          await released;
          return messages;
        },
      },
      spool: {
        enqueue: (q, messages) => enqueue(q, messages),
        setDeliveryHold: (q, id, held) => setDeliveryHold(q, id, held),
      },
      compose: { secret: 'test-secret-test-secret', publicUrl: 'https://shop.test', bounceDomain: 'bounces.shop.test' },
      batchSize: 3,
      window: 1000,
    });

    await sender.step(); // Start pending → In progress
    await sender.step(); // the first batch goes to the MTA
    for (let i = 0; counter(await getCounters(db.kysely, d.id), LogStatus.Taken) < 3; i++) {
      assert.ok(i < 200, 'the first batch was not handed over');
      await new Promise((r) => setTimeout(r, 10));
    }
    await sender.step(); // the second batch: composed, now being signed
    await signingStarted;
    await db.kysely.updateTable('deliveries').set({ valid_until: Date.now() - 1 }).where('id', '=', d.id).execute();
    await sender.step(); // the validity has ended: what is Pending is cancelled
    release();
    await sender.stop(); // waits for the batch in flight to hand over what it still may

    const spooled = await db.kysely.selectFrom('mta_spool').select('rcpt_to').orderBy('rcpt_to').execute();
    assert.deepEqual(spooled.map((r) => r.rcpt_to), ['r0@race.test', 'r1@race.test', 'r2@race.test'], 'only the first batch is in the MTA');
    const statuses = await db.kysely.selectFrom('delivery_logs').select('status').where('delivery_id', '=', d.id).orderBy('id').execute();
    assert.deepEqual(statuses.map((s) => s.status), [LogStatus.Taken, LogStatus.Taken, LogStatus.Taken, LogStatus.Cancelled, LogStatus.Cancelled, LogStatus.Cancelled]);
    const counters = await getCounters(db.kysely, d.id);
    assert.deepEqual([counter(counters, LogStatus.Pending), counter(counters, LogStatus.Taken), counter(counters, LogStatus.Cancelled)], [0, 3, 3]);
    assert.equal((await getDeliveryRow(db.kysely, d.id)).state, DeliveryState.InProgress);
  } finally {
    await sender?.stop();
    await cleanup();
  }
});

// A message that rendered at analysis may not render when its turn comes (here: the
// recipient's data changed to make a loop run past the rendering limit). It fails alone,
// saying why, and the rest of its batch goes to the MTA; before, the whole batch was
// retried for ever.
test('a message that cannot be built when the sender comes to it fails alone; its batch goes on', async () => {
  const { db, cleanup } = await createTestDb();
  let sender: Sender | null = null;
  try {
    const recipients = Array.from({ length: 4 }, (_, i) => ({ email: `r${i}@build.test`, n: 1 }));
    const d = await createDelivery(db, { label: 'build', from: { name: 'Shop', address: 'news@shop.test' }, subject: 'Hi', text: '{% for i in (1..n) %}x{% endfor %} {{ unsubscribeUrl }}', validity: '1h', recipients }, { defaultValidityMs: 3_600_000, maxValidityMs: 7 * 86_400_000 });
    const report = await analyzeDelivery(db, d.id, { limits: { warnSizeBytes: 1e6, maxSizeBytes: 1e7, estimatedRatePerSecond: 1000 } });
    assert.equal(report.errors, 0, JSON.stringify(report.lines));
    await confirmDelivery(db, d.id);
    await db.kysely.updateTable('delivery_targets').set({ data: JSON.stringify({ email: 'r2@build.test', n: 100_000_000 }) }).where('delivery_id', '=', d.id).where('row_no', '=', 3).execute();
    sender = new Sender({
      db,
      logger: silentLogger,
      signer: { sign: async (messages: InjectMessage[]) => messages },
      spool: { enqueue: (q, messages) => enqueue(q, messages), setDeliveryHold: (q, id, held) => setDeliveryHold(q, id, held) },
      compose: { secret: 'test-secret-test-secret', publicUrl: 'https://shop.test', bounceDomain: 'bounces.shop.test' },
      batchSize: 10,
      window: 1000,
    });
    for (let i = 0; counter(await getCounters(db.kysely, d.id), LogStatus.Pending) > 0; i++) {
      assert.ok(i < 50, 'logs still Pending');
      await sender.step();
      await new Promise((r) => setTimeout(r, 20));
    }
    await sender.stop();
    const logs = await db.kysely.selectFrom('delivery_logs').select(['address', 'status', 'failure_type', 'reply']).where('delivery_id', '=', d.id).orderBy('id').execute();
    assert.deepEqual(logs.map((l) => l.status), [LogStatus.Taken, LogStatus.Taken, LogStatus.Failed, LogStatus.Taken]);
    assert.equal(logs[2].failure_type, 3, 'Ignored: the recipient is not at fault');
    assert.match(logs[2].reply ?? '', /the message could not be built: .*limit/i);
    const counters = await getCounters(db.kysely, d.id);
    assert.deepEqual([counter(counters, LogStatus.Pending), counter(counters, LogStatus.Taken), counter(counters, LogStatus.Failed)], [0, 3, 1]);
  } finally {
    await sender?.stop();
    await cleanup();
  }
});
