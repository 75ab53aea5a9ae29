import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawEvent } from './documents.ts';
import { planRound } from './lanes.ts';

const ev = (id: number, logId: number | null, type = 'delivered'): RawEvent => ({ id, type, log_id: logId, delivery_id: 1, occurred_at: id, payload: '{}', note: null });
const all = () => true;
const ids = (batches: RawEvent[][]) => batches.map((b) => b.map((e) => e.id));

test('a backlog that fits in one POST is one POST in event order, whatever the lanes', () => {
  const plan = planRound([ev(1, 10), ev(2, 11), ev(3, 10), ev(4, 12)], all, new Set(), 4, 10);
  assert.deepEqual(ids(plan.batches), [[1, 2, 3, 4]]);
  assert.equal(plan.upTo, 4);
});

test("a bigger backlog is split by message: a message's events share a POST, in order, and the round stops at a full lane", () => {
  // Messages 0..7, two events each (say deferred then delivered), 2 lanes of 4 events.
  const ready = Array.from({ length: 16 }, (_, i) => ev(i + 1, i % 8));
  const plan = planRound(ready, all, new Set(), 2, 4);
  assert.deepEqual(ids(plan.batches), [[1, 3, 5, 7], [2, 4, 6, 8]]);
  assert.equal(plan.upTo, 8, 'up to the event before the first that found its lane full');
  for (const b of plan.batches) assert.equal(new Set(b.map((e) => Number(e.log_id) % 2)).size, 1);
});

test('filtered and already acknowledged events are passed over; upTo still covers them', () => {
  const ready = [ev(1, 1, 'opened'), ev(2, 2), ev(3, 3), ev(4, 4, 'opened')];
  const plan = planRound(ready, (e) => e.type === 'delivered', new Set([3]), 2, 10);
  assert.deepEqual(ids(plan.batches), [[2]]);
  assert.equal(plan.upTo, 4);
  assert.deepEqual(planRound([ev(5, 1, 'opened')], (e) => e.type === 'delivered', new Set(), 2, 10), { batches: [], upTo: 5 });
});

test('one lane: up to batchSize events per POST, overall order', () => {
  const plan = planRound([ev(1, 1), ev(2, 2), ev(3, 3)], all, new Set(), 1, 2);
  assert.deepEqual(ids(plan.batches), [[1, 2]]);
  assert.equal(plan.upTo, 2);
});
