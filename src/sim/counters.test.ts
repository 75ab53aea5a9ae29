import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DeliveryCounters } from './counters.ts';

test('per-recipient counts are exact and separate received, deferred and rejected', () => {
  const c = new DeliveryCounters();
  c.refused('p', 'a@p.sim', 'greylisted', true);
  c.refused('p', 'a@p.sim', 'rateLimited', true);
  c.received('p', ['a@p.sim', 'b@p.sim']);
  c.received('p', ['a@p.sim']);
  c.refused('p', 'c@q.sim', 'unknown', false);
  assert.deepEqual(c.recipient('A@p.sim'), { received: 2, deferred: 2, rejected: 0 });
  assert.deepEqual(c.recipient('c@q.sim'), { received: 0, deferred: 0, rejected: 1 });
  assert.equal(c.recipient('nobody@p.sim'), null);
  assert.equal(c.attempts('a@p.sim'), 4);
  assert.deepEqual(c.domains()['p.sim'], { received: 3, deferred: 2, rejected: 0, byReason: { greylisted: 1, rateLimited: 1 } });
  assert.deepEqual(c.providers().p.byReason, { greylisted: 1, rateLimited: 1, unknown: 1 });
  assert.equal(c.totals.messages, 2);
  assert.deepEqual(c.recipientSummary(), { distinct: 3, received: 2, receivedMoreThanOnce: 1, maxReceived: 2, examplesReceivedMoreThanOnce: ['a@p.sim'], untracked: 0 });
});

test('past maxRecipients new addresses only count in the totals', () => {
  const c = new DeliveryCounters(2);
  c.received('p', ['a@p.sim', 'b@p.sim', 'c@p.sim']);
  assert.equal(c.recipient('c@p.sim'), null);
  assert.equal(c.totals.received, 3);
  assert.equal(c.recipientSummary().untracked, 1);
});

test('a million recipients cost well under 100 MB', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  const c = new DeliveryCounters();
  for (let i = 0; i < 1_000_000; i++) c.received('gmail', [`user${i}@gmail.sim`]);
  gc();
  const grown = (process.memoryUsage().heapUsed - before) / 1e6;
  assert.equal(c.recipientSummary().distinct, 1_000_000);
  assert.ok(grown < 100, `heap grew by ${grown.toFixed(1)} MB`);
});
