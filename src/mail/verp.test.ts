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

test('the Message-ID signature covers the delivery id, the log id and the domain', async () => {
  const { readMessageId, readMessageIdParts } = await import('./verp.ts');
  const secret = 'k'.repeat(20);
  const mid = messageIdFor(secret, 7, 1234, 'shop.example');
  assert.deepEqual(readMessageIdParts(secret, mid), { deliveryId: 7, logId: 1234, domain: 'shop.example', bound: true });
  assert.equal(readMessageId(secret, mid.toUpperCase()), 1234, 'case-insensitive, as some MTAs fold case');
  assert.equal(readMessageId(secret, mid.replace('<7.', '<8.')), null, 'another delivery id');
  assert.equal(readMessageId(secret, mid.replace('@shop.example', '@evil.example')), null, 'another domain');
  assert.equal(readMessageId(secret, mid.replace(`.${(1234).toString(36)}.`, `.${(1235).toString(36)}.`)), null, 'another log id');
  assert.equal(readMessageIdParts(secret, mid.replace('<7.', '<8.')), null);
  assert.equal(readMessageIdParts('another-secret-0000', mid), null);
  assert.equal(readMessageIdParts(secret, `<${'1'.repeat(2000)}.1.aaaaaaaa@x>`), null, 'oversized input');
});

test('a Message-ID of the older format (signing only the log id) is read as unbound evidence', async () => {
  const { readMessageId, readMessageIdParts } = await import('./verp.ts');
  const { shortHmac } = await import('../lib/ids.ts');
  const secret = 'k'.repeat(20);
  const old = `<7.${(1234).toString(36)}.${shortHmac(secret, 'mid:1234', 8)}@shop.example>`;
  assert.deepEqual(readMessageIdParts(secret, old), { deliveryId: 7, logId: 1234, domain: 'shop.example', bound: false });
  assert.equal(readMessageId(secret, old), null, 'not enough to name a log on its own');
  // Its delivery id and domain were never signed: altering them still reads as unbound (the caller checks them).
  assert.equal(readMessageIdParts(secret, old.replace('<7.', '<8.'))?.bound, false);
});
