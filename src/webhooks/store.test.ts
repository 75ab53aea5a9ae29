import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../db/testing.ts';
import { writeEvents } from '../events/index.ts';
import { ATTEMPTS_KEPT, claimEndpoint, createEndpoint, endpointTarget, recentAttempts, recordAttempt, releaseEndpoint, replayEndpoint } from './store.ts';

const t = await createTestDb();
after(() => t.cleanup());
const q = t.db.kysely;
const SECRET = 'instance-secret-0123456789';

test('a new endpoint starts after the last event; its secret opens only with the instance secret', async () => {
  await q.transaction().execute((trx) => writeEvents(trx, [1, 2, 3].map((i) => ({ key: `k${i}`, type: 'delivered' as const, logId: null, deliveryId: null, occurredAt: i * 1000, payload: {} }))));
  const { endpoint, secret } = await createEndpoint(q, SECRET, { url: 'https://hooks.example/in', createdBy: 'test' });
  const max = await q.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirstOrThrow();
  assert.equal(endpoint.cursor, Number(max.id));
  assert.equal((await endpointTarget(q, SECRET, endpoint.id))?.secret, secret);
  assert.equal(await endpointTarget(q, 'another-instance-secret', endpoint.id), null);
  await assert.rejects(createEndpoint(q, SECRET, { url: 'javascript:alert(1)', createdBy: 'test' }), /http or https/);
  await assert.rejects(createEndpoint(q, SECRET, { url: 'https://hooks.example/', eventTypes: ['sent'], createdBy: 'test' }), /unknown event type sent/);
});

test('a replay moves the cursor to just before the first event at or after the time', async () => {
  const { endpoint } = await createEndpoint(q, SECRET, { url: 'https://hooks.example/replay', createdBy: 'test' });
  const ids = (await q.selectFrom('events').select(['id', 'occurred_at']).orderBy('id').execute()).map((r) => Number(r.id));
  const r = await replayEndpoint(q, endpoint.id, 1500);
  assert.equal(r.fromEventId, ids[1]);
  assert.equal(r.endpoint.cursor, ids[1] - 1);
  const none = await replayEndpoint(q, endpoint.id, 10_000);
  assert.equal(none.fromEventId, null);
  assert.equal(none.endpoint.cursor, ids[2]);
});

test('one process at a time holds an endpoint', async () => {
  const { endpoint } = await createEndpoint(q, SECRET, { url: 'https://hooks.example/lease', createdBy: 'test' });
  const now = Date.now();
  assert.equal(await claimEndpoint(q, endpoint.id, 'a', now, now + 60_000), true);
  assert.equal(await claimEndpoint(q, endpoint.id, 'b', now, now + 60_000), false);
  // A dead holder's lease runs out.
  assert.equal(await claimEndpoint(q, endpoint.id, 'b', now + 60_001, now + 120_000), true);
  await releaseEndpoint(q, endpoint.id, 'b');
  assert.equal(await claimEndpoint(q, endpoint.id, 'a', now, now + 60_000), true);
});

test('the last 1,000 attempts of an endpoint are kept', async () => {
  const { endpoint } = await createEndpoint(q, SECRET, { url: 'https://hooks.example/attempts', createdBy: 'test' });
  const { endpoint: other } = await createEndpoint(q, SECRET, { url: 'https://hooks.example/other', createdBy: 'test' });
  await recordAttempt(q, { endpointId: other.id, firstEventId: 1, lastEventId: 1, events: 1, attempt: 1, statusCode: 200, latencyMs: 3, error: null, at: 1 });
  for (let i = 1; i <= ATTEMPTS_KEPT + 20; i++) await recordAttempt(q, { endpointId: endpoint.id, firstEventId: i, lastEventId: i, events: 1, attempt: 1, statusCode: 500, latencyMs: 3, error: 'HTTP 500', at: i });
  const n = await q.selectFrom('webhook_attempts').select((eb) => eb.fn.countAll<number>().as('n')).where('endpoint_id', '=', endpoint.id).executeTakeFirstOrThrow();
  assert.equal(Number(n.n), ATTEMPTS_KEPT);
  assert.equal((await recentAttempts(q, endpoint.id, 1))[0].firstEventId, ATTEMPTS_KEPT + 20);
  assert.equal((await recentAttempts(q, other.id)).length, 1, "another endpoint's attempts stay");
});
