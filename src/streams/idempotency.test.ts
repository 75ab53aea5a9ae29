import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../db/testing.ts';
import { claimKey, expireKeys, KEEP_MS, recordAnswer, releaseKey } from './idempotency.ts';

const t = await createTestDb();
after(() => t.cleanup());
const q = t.db.kysely;

test('a key is claimed once; while its call runs a second is told so; its answer is given again', async () => {
  assert.deepEqual(await claimKey(q, 'api-key:1', 'k1'), { kind: 'claimed' });
  assert.deepEqual(await claimKey(q, 'api-key:1', 'k1'), { kind: 'running' });
  assert.deepEqual(await claimKey(q, 'api-key:2', 'k1'), { kind: 'claimed' }, 'keys are per caller');
  await recordAnswer(q, 'api-key:1', 'k1', 200, { logIds: [7] }, 'hash-1');
  assert.deepEqual(await claimKey(q, 'api-key:1', 'k1'), { kind: 'answered', status: 200, response: { logIds: [7] }, requestHash: 'hash-1' });
});

test('a failed call gives its key back; an answered key is not given back', async () => {
  await claimKey(q, 'api-key:1', 'k2');
  await releaseKey(q, 'api-key:1', 'k2');
  assert.deepEqual(await claimKey(q, 'api-key:1', 'k2'), { kind: 'claimed' });
  await releaseKey(q, 'api-key:1', 'k1');
  assert.equal((await claimKey(q, 'api-key:1', 'k1')).kind, 'answered');
});

test('a claim abandoned for 5 minutes is taken over; an answer older than 24 hours is forgotten', async () => {
  const now = Date.now();
  await claimKey(q, 'api-key:3', 'crashed', now - 6 * 60_000);
  assert.deepEqual(await claimKey(q, 'api-key:3', 'crashed', now), { kind: 'claimed' });
  await claimKey(q, 'api-key:3', 'old', now - KEEP_MS - 1000);
  await recordAnswer(q, 'api-key:3', 'old', 200, { a: 1 });
  assert.deepEqual(await claimKey(q, 'api-key:3', 'old', now), { kind: 'claimed' }, 'an expired answer is not replayed');
  await claimKey(q, 'api-key:3', 'older', now - KEEP_MS - 1000);
  assert.ok((await expireKeys(q, now)) >= 1);
  assert.equal(await q.selectFrom('idempotency_keys').select('key').where('key', '=', 'older').executeTakeFirst(), undefined);
});
