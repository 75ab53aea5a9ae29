import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginThrottle, sourceKey, waitInWords, type ThrottleLimits } from './throttle.ts';

const limits: ThrottleLimits = { free: 3, baseLockMs: 1000, maxLockMs: 8000, forgetMs: 60_000, maxEntries: 5 };
const fail = (t: LoginThrottle, now: number, name = 'ana', ip = '10.0.0.1') => {
  const a = t.admit(name, ip, now);
  if (a.ok) a.done('failure');
  return a;
};

test('the lock after the free failures doubles with each further failure, up to the maximum', () => {
  const t = new LoginThrottle(limits, { ...limits, free: 1000 });
  let now = 0;
  for (let i = 0; i < 3; i++) assert.ok(fail(t, now).ok);
  const locks: number[] = [];
  for (let i = 0; i < 6; i++) {
    const refused = t.admit('ana', '10.0.0.1', Date.now());
    assert.equal(refused.ok, false);
    locks.push(Math.round((refused as { retryAfterMs: number }).retryAfterMs / 1000));
    // Time passes until the lock ends: one attempt is allowed, and it fails again.
    now = Date.now() + 9000;
    const probe = t.admit('ana', '10.0.0.1', now);
    assert.ok(probe.ok);
    probe.done('failure');
  }
  assert.deepEqual(locks, [1, 2, 4, 8, 8, 8]);
});

test('a success resets the account, not the address; the right password works after the lock', () => {
  const t = new LoginThrottle(limits, { ...limits, free: 5 });
  for (let i = 0; i < 3; i++) fail(t, Date.now());
  assert.equal(t.admit('ana', '10.0.0.1').ok, false);
  const later = Date.now() + 1500;
  const ok = t.admit('ana', '10.0.0.1', later);
  assert.ok(ok.ok);
  ok.done('success');
  for (let i = 0; i < 2; i++) assert.ok(fail(t, Date.now()).ok, 'the account starts again from zero');
  // The address has 5 failures now: its own lock applies, to every name.
  const refused = t.admit('bob', '10.0.0.1');
  assert.equal(refused.ok, false);
  assert.equal((refused as { by: string }).by, 'source');
});

test('attempts in flight count: no more run at once than failures are left', () => {
  const t = new LoginThrottle(limits);
  const admitted = [1, 2, 3, 4, 5].map(() => t.admit('ana', '10.0.0.1'));
  assert.deepEqual(admitted.map((a) => a.ok), [true, true, true, false, false]);
  for (const a of admitted) if (a.ok) a.done('error');
  assert.ok(t.admit('ana', '10.0.0.1').ok, 'errors free the reservation without counting');
});

test('memory stays bounded however many names are tried', () => {
  const t = new LoginThrottle(limits, limits);
  for (let i = 0; i < 1000; i++) fail(t, Date.now(), `name-${i}`, `10.0.${i >> 8}.${i & 255}`);
  assert.deepEqual(t.size, { accounts: 5, sources: 5 });
});

test('IPv6 sources count per /64; IPv4-mapped addresses as IPv4', () => {
  assert.equal(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:0db8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('::1'), '0:0:0:0::/64');
  assert.equal(sourceKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(sourceKey('192.0.2.7'), '192.0.2.7');
});

test('waits in words', () => {
  assert.equal(waitInWords(1), '1 second');
  assert.equal(waitInWords(45_000), '45 seconds');
  assert.equal(waitInWords(600_000), '10 minutes');
  assert.equal(waitInWords(3600_000), '60 minutes');
  assert.equal(waitInWords(3 * 3600_000), '3 hours');
});
