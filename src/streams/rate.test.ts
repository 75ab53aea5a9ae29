/** SendRateLimiter: a burst, then the rate; a batch counts its messages; a batch over the burst leaves a debt. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SendRateLimiter } from './rate.ts';

test('a caller gets its burst at once, then the rate, and is told how long to wait', () => {
  const l = new SendRateLimiter({ perSecond: 10, burst: 3 });
  assert.deepEqual([l.take('a', 1, 0), l.take('a', 1, 0), l.take('a', 1, 0)], [0, 0, 0]);
  assert.equal(l.take('a', 1, 0), 100, 'one token in 100 ms');
  assert.equal(l.take('b', 1, 0), 0, 'another caller has its own bucket');
  assert.equal(l.take('a', 1, 100), 0);
});

test('a batch takes one token per message; one larger than the burst goes when full and leaves a debt', () => {
  const l = new SendRateLimiter({ perSecond: 100, burst: 50 });
  assert.equal(l.take('a', 40, 0), 0);
  assert.equal(l.take('a', 20, 0), 100, 'ten tokens short');
  assert.equal(l.take('a', 200, 1000), 0, 'full again after a second: the batch goes');
  assert.equal(l.take('a', 1, 1000), 1510, 'and the caller waits for the 150 messages over the burst');
  assert.equal(new SendRateLimiter({ perSecond: 0, burst: 0 }).take('a', 1000), 0, 'off');
});
