import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readVerpAddress, verpAddress, readLogToken, logToken, messageIdFor } from './verp.ts';

test('a VERP address round-trips to its log id', () => {
  const a = verpAddress('s3cret-s3cret-s3cret', 123456, 'bounces.example.com');
  assert.match(a, /^bounce\+[0-9a-z]+-[0-9a-z]{10}@bounces\.example\.com$/);
  assert.equal(readVerpAddress('s3cret-s3cret-s3cret', a, 'bounces.example.com'), 123456);
  assert.equal(readVerpAddress('s3cret-s3cret-s3cret', a.toUpperCase(), 'bounces.example.com'), 123456, 'case-insensitive, as MTAs may fold case');
});

test('a forged or altered token is refused', () => {
  const t = logToken('s3cret-s3cret-s3cret', 42);
  assert.equal(readLogToken('s3cret-s3cret-s3cret', t), 42);
  assert.equal(readLogToken('another-secret-xx', t), null);
  const tampered = t.replace(/^[0-9a-z]+/, (43).toString(36));
  assert.equal(readLogToken('s3cret-s3cret-s3cret', tampered), null);
  assert.equal(readVerpAddress('s3cret-s3cret-s3cret', 'postmaster@bounces.example.com'), null);
  assert.equal(readVerpAddress('s3cret-s3cret-s3cret', verpAddress('s3cret-s3cret-s3cret', 42, 'a.test'), 'b.test'), null);
});

test('message ids are unique per log', () => {
  const a = messageIdFor('k'.repeat(20), 1, 1, 'example.com');
  const b = messageIdFor('k'.repeat(20), 1, 2, 'example.com');
  assert.notEqual(a, b);
  assert.match(a, /^<1\.1\.[0-9a-z]{8}@example\.com>$/);
});

test('our Message-IDs and unsubscribe addresses name their log, and forgeries do not', async () => {
  const { readMessageId, unsubscribeAddress, readUnsubscribeAddress } = await import('./verp.ts');
  const secret = 'k'.repeat(20);
  const mid = messageIdFor(secret, 7, 1234, 'shop.example');
  assert.equal(readMessageId(secret, mid), 1234);
  assert.equal(readMessageId(secret, mid.replace(/\.[0-9a-z]{8}@/, '.aaaaaaaa@')), null);
  assert.equal(readMessageId(secret, '<random@elsewhere.example>'), null);
  const u = unsubscribeAddress(secret, 99, 'b.example');
  assert.equal(readUnsubscribeAddress(secret, u), 99);
  assert.equal(readUnsubscribeAddress('another-secret-0000', u), null);
});
