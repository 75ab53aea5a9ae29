import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clickToken, isHttpUrl, MAX_CARRIED_URL, openToken, readClickToken, readOpenToken } from './tracking-tokens.ts';

const S = 'secret-one';

// Changes one character of a token to another character of the same alphabet.
const alter = (token: string, i: number) => {
  const c = token[i];
  const next = c === '.' ? '.' : c === 'a' ? 'b' : c === 'A' ? 'B' : /[0-9]/.test(c) ? String((Number(c) + 1) % 10) : 'a';
  return token.slice(0, i) + next + token.slice(i + 1);
};

test('an open token reads back its delivery and log, and case does not matter (mail clients change it)', () => {
  const t = openToken(S, 12, 345678);
  assert.deepEqual(readOpenToken(S, t), { deliveryId: 12, logId: 345678 });
  assert.deepEqual(readOpenToken(S, t.toUpperCase()), { deliveryId: 12, logId: 345678 });
});

test('an open token with any character altered, its ids swapped, or from another secret names nothing', () => {
  const t = openToken(S, 12, 345678);
  for (let i = 0; i < t.length; i++) if (t[i] !== '.') assert.equal(readOpenToken(S, alter(t, i)), null, `altered at ${i}: ${alter(t, i)}`);
  const [d, l, sig] = t.split('.');
  assert.equal(readOpenToken(S, `${l}.${d}.${sig}`), null);
  assert.equal(readOpenToken('secret-two', t), null);
  assert.equal(readOpenToken(S, ''), null);
  assert.equal(readOpenToken(S, `${t}.x`), null);
});

test('a click token reads back delivery, log and link, with no URL for a link of the delivery', () => {
  const t = clickToken(S, 3, 99, 7);
  assert.deepEqual(readClickToken(S, t), { deliveryId: 3, logId: 99, linkId: 7, url: null });
});

test('a click token with any character altered, ids swapped, or another secret names nothing', () => {
  const t = clickToken(S, 3, 99, 7);
  for (let i = 0; i < t.length; i++) if (t[i] !== '.') assert.equal(readClickToken(S, alter(t, i)), null, `altered at ${i}`);
  const [d, l, k, sig] = t.split('.');
  assert.equal(readClickToken(S, `${l}.${d}.${k}.${sig}`), null);
  assert.equal(readClickToken(S, `${d}.${k}.${l}.${sig}`), null);
  assert.equal(readClickToken('secret-two', t), null);
  // An open token is not a click token, and a click token is not an open token.
  assert.equal(readOpenToken(S, `${d}.${l}.${sig}`), null);
});

test('a personalized URL travels in the token signed: it reads back exactly, and a changed URL names nothing', () => {
  const url = 'https://shop.example/offer?u=42&name=Zoë#top';
  const t = clickToken(S, 3, 99, 7, url);
  assert.deepEqual(readClickToken(S, t), { deliveryId: 3, logId: 99, linkId: 7, url });
  const head = t.split('.').slice(0, 4).join('.');
  const other = Buffer.from('https://evil.example/', 'utf8').toString('base64url');
  assert.equal(readClickToken(S, `${head}.${other}`), null, 'another URL under the same signature');
  assert.equal(readClickToken(S, head), null, 'the URL left out');
  for (let i = head.length + 1; i < t.length; i++) assert.equal(readClickToken(S, alter(t, i)), null, `carried URL altered at ${i}`);
});

test('a carried URL that is not http(s) is refused even when signed (no javascript: or data: redirect)', () => {
  for (const url of ['javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'ftp://files.example/x', 'https://', 'https://a.example/ x']) {
    assert.equal(readClickToken(S, clickToken(S, 1, 2, 3, url)), null, url);
    assert.equal(isHttpUrl(url), false, url);
  }
  assert.equal(isHttpUrl('http://a.example/'), true);
});

test('oversized tokens and URLs are refused', () => {
  const long = `https://a.example/${'x'.repeat(MAX_CARRIED_URL)}`;
  assert.equal(isHttpUrl(long), false);
  assert.equal(readClickToken(S, clickToken(S, 1, 2, 3, long)), null);
  assert.equal(readClickToken(S, `${clickToken(S, 1, 2, 3)}.${'A'.repeat(MAX_CARRIED_URL * 2)}`), null);
  // Ids past what a token may hold (11 base-36 digits) are refused, not rounded.
  assert.equal(readOpenToken(S, `${'z'.repeat(12)}.1.${'0'.repeat(12)}`), null);
});
