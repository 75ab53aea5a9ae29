import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddress } from './address.ts';

test('normalizes the domain to lower case and keeps the local part', () => {
  const r = checkAddress('  Jane.Doe@Example.COM ');
  assert.deepEqual(r, { ok: true, address: 'Jane.Doe@example.com', local: 'Jane.Doe', domain: 'example.com' });
  const lower = checkAddress('Jane.Doe@Example.COM', { lowerLocal: true });
  assert.equal(lower.ok && lower.address, 'jane.doe@example.com');
});

test('rejects empty and malformed addresses with a reason', () => {
  assert.equal(checkAddress('').ok, false);
  assert.equal((checkAddress('') as { reason: string }).reason, 'empty');
  for (const bad of ['plainaddress', '@example.com', 'a@', 'a@@b.com', 'a b@example.com', 'a@example', 'a@-bad-.com', 'a..b@example.com', 'a@example.123']) {
    const r = checkAddress(bad);
    assert.equal(r.ok, false, bad);
    assert.equal((r as { reason: string }).reason, 'malformed', bad);
  }
});

test('accepts plus tags, quoted local parts and internationalized domains', () => {
  assert.equal(checkAddress('user+tag@sub.example.org').ok, true);
  assert.equal(checkAddress('"john doe"@example.org').ok, true);
  const idn = checkAddress('anna@bücher.example');
  assert.equal(idn.ok && idn.domain, 'xn--bcher-kva.example');
});

test('a domain with a line break, tab or space is refused, not joined up', () => {
  for (const bad of ['care@shop\r\n.example', 'care@shop\t.example', 'care@shop\n.example', 'care@sh op.example', 'a@x.test\r\nBcc: y@evil.test']) {
    assert.equal(checkAddress(bad).ok, false, JSON.stringify(bad));
  }
});
