import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RETRY, givenUp, retryDelayMs } from './retry.ts';

test('1 s, doubling, capped at 1 h (with 10 % jitter)', () => {
  const mid = () => 0.5; // no jitter
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelayMs(DEFAULT_RETRY, n, mid)), [1000, 2000, 4000, 8000, 16000]);
  assert.equal(retryDelayMs(DEFAULT_RETRY, 13, mid), 3_600_000);
  assert.equal(retryDelayMs(DEFAULT_RETRY, 40, mid), 3_600_000);
  assert.ok(retryDelayMs(DEFAULT_RETRY, 1, () => 0) >= 900 && retryDelayMs(DEFAULT_RETRY, 1, () => 1) <= 1100);
});

test('the retries cover at least 24 hours before the endpoint is given up', () => {
  const start = 0;
  let at = start;
  let failures = 0;
  while (!givenUp(DEFAULT_RETRY, start, at)) {
    failures++;
    at += retryDelayMs(DEFAULT_RETRY, failures, () => 0.5);
  }
  assert.ok(at - start >= 24 * 3_600_000);
  // Hourly once capped: about 12 quick retries and then one an hour.
  assert.ok(failures > 30 && failures < 40, `${failures} attempts`);
  assert.equal(givenUp(DEFAULT_RETRY, start, 24 * 3_600_000 - 1), false);
});
