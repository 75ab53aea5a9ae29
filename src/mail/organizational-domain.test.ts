import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignedRelaxed, organizationalDomain } from './organizational-domain.ts';

test('the organizational domain is the public suffix plus one label, from the Public Suffix List', () => {
  assert.equal(organizationalDomain('news.shop.example'), 'shop.example');
  assert.equal(organizationalDomain('a.b.shop.co.uk'), 'shop.co.uk');
  assert.equal(organizationalDomain('Mail.Shop.COM.'), 'shop.com');
  // Private suffixes count, as DMARC verifiers count them: two github.io sites are two organizations.
  assert.equal(organizationalDomain('news.alice.github.io'), 'alice.github.io');
  // Unknown top-level domains (the simulator's .test, .sim) act as one-label suffixes.
  assert.equal(organizationalDomain('bounces.shop.test'), 'shop.test');
  // A bare suffix, a single label or an address is its own.
  assert.equal(organizationalDomain('co.uk'), 'co.uk');
  assert.equal(organizationalDomain('localhost'), 'localhost');
  assert.equal(organizationalDomain('192.0.2.1'), '192.0.2.1');
});

test('relaxed alignment: same organizational domain', () => {
  assert.ok(alignedRelaxed('bounces.shop.example', 'news.shop.example'));
  assert.ok(!alignedRelaxed('bounces.estafeta.localhost', 'shop.example'));
  assert.ok(!alignedRelaxed('alice.github.io', 'bob.github.io'));
});
