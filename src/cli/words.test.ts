import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dateTime, failure, fromNow, moment, num, percent, plural } from './words.ts';

test('counts read as words', () => {
  assert.equal(plural(1, 'recipient'), '1 recipient');
  assert.equal(plural(0, 'recipient'), '0 recipients');
  assert.equal(plural(10050, 'address', 'addresses'), '10,050 addresses');
  assert.equal(num(1234567), '1,234,567');
  assert.equal(percent(92.345), '92.3 %');
  assert.equal(failure('Soft', 'Unreachable'), 'Soft · Unreachable');
  assert.equal(failure(null, null), '');
});

test('times: short when near, full when far', () => {
  const now = new Date(2026, 11, 3, 12, 0).getTime(); // Thursday
  assert.equal(moment(new Date(2026, 11, 3, 13, 5).getTime(), now), '13:05');
  assert.equal(moment(new Date(2026, 11, 5, 18, 0).toISOString(), now), 'Sat 18:00');
  assert.equal(moment(new Date(2026, 11, 24, 18, 0).getTime(), now), '2026-12-24 18:00');
  assert.equal(dateTime(new Date(2026, 0, 2, 3, 4).toISOString()), '2026-01-02 03:04');
  assert.equal(fromNow(now + 4 * 60_000, now), 'in 4 min');
  assert.equal(fromNow(now + 130 * 60_000, now), 'in 2 h 10 min');
  assert.equal(fromNow(now - 3 * 60_000, now), '3 min ago');
});
