import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonDepthExceeds, sizeInWords } from './body-parsing.ts';

const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);

test('JSON depth: counts objects and arrays, not brackets inside strings', () => {
  assert.equal(jsonDepthExceeds(nested(64), 64), false);
  assert.equal(jsonDepthExceeds(nested(65), 64), true);
  assert.equal(jsonDepthExceeds(`{"a":{"b":[1,{"c":2}]}}`, 3), true);
  assert.equal(jsonDepthExceeds(`{"a":{"b":[1,{"c":2}]}}`, 4), false);
  assert.equal(jsonDepthExceeds(JSON.stringify({ s: '[[[[[[{{{{\\"[[[' }), 1), false);
  assert.equal(jsonDepthExceeds(JSON.stringify([['a\\'], [['b"']]]), 3), false);
});

test('JSON depth: 100,000 levels are refused in one pass, without recursion', () => {
  const t = performance.now();
  assert.equal(jsonDepthExceeds(`{"a":${nested(100_000)}}`, 64), true);
  assert.equal(jsonDepthExceeds('"' + 'x'.repeat(10_000_000) + '"', 64), false);
  assert.ok(performance.now() - t < 500);
});

test('sizes in words', () => {
  assert.equal(sizeInWords(8 * 1024), '8 KB');
  assert.equal(sizeInWords(200 * 1024 * 1024), '200 MB');
  assert.equal(sizeInWords(1000), '1000 bytes');
});
