import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { signatureHeader, verifySignature } from './signature.ts';

const secret = 'whsec_test';
const body = '{"events":[{"version":1,"id":7,"type":"delivered"}]}';

test('the header is t and the hex HMAC-SHA256 of t.body', () => {
  const h = signatureHeader(secret, body, 1_700_000_000);
  const hex = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
  assert.equal(h, `t=1700000000,v1=${hex}`);
});

test('a receiver accepts the signed body and refuses a changed body, another secret, an old timestamp', () => {
  const now = 1_700_000_000;
  const h = signatureHeader(secret, body, now);
  assert.equal(verifySignature(secret, h, body, now + 10), true);
  assert.equal(verifySignature(secret, h, body.replace('delivered', 'bounced'), now), false);
  assert.equal(verifySignature('another', h, body, now), false);
  assert.equal(verifySignature(secret, h, body, now + 301), false);
  assert.equal(verifySignature(secret, undefined, body, now), false);
  assert.equal(verifySignature(secret, 't=abc,v1=00', body, now), false);
  // A replayed signature with a new timestamp does not match.
  assert.equal(verifySignature(secret, h.replace(`t=${now}`, `t=${now + 5}`), body, now + 5), false);
});
