import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from './token-bucket.ts';
import { globToRegExp } from './glob.ts';

test('a bucket of 10 per second lets 10 through per second after its burst', () => {
  const b = new TokenBucket(10, 1, 0);
  let sent = 0;
  for (let t = 0; t < 60_000; t += 5) if (b.take(t) === 0) sent++;
  assert.ok(sent >= 600 && sent <= 601, `${sent}`);
});

test('an empty bucket says how long to wait, and a rate change applies at once', () => {
  const b = new TokenBucket(2, 1, 0);
  assert.equal(b.take(0), 0);
  assert.equal(b.take(0), 500);
  b.setRate(0.5, 1, 0);
  assert.equal(b.waitMs(0), 2000);
  b.setRate(0, 1, 0);
  assert.equal(b.take(10_000), Number.POSITIVE_INFINITY, 'a suspended rate never refills');
});

test('globs match whole MX host names, case-insensitively', () => {
  assert.ok(globToRegExp('*.google.com').test('ALT1.ASPMX.L.GOOGLE.COM'));
  assert.ok(!globToRegExp('*.google.com').test('google.com.evil.test'));
  assert.ok(globToRegExp('mx?.yahoo.com').test('mx1.yahoo.com'));
  assert.ok(globToRegExp('*').test('anything'));
});
