/**
 * Inputs the fuzzer (npm run fuzz -- --target template) found, kept as tests (F1 and F2 of
 * docs/FUZZING.md, fixed in 1e45409).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate } from './template.ts';

test('{{ field.length }} of a string renders its length, with or without a tag in the template', () => {
  // Shrunk input: {"kind":"subject","source":"{{count.length}}","data":{"count":""}}
  assert.equal(compileTemplate('subject', '{{count.length}}').render({ count: '' }), '0');
  assert.equal(compileTemplate('subject', 'Hi {{ firstName.length }}').render({ firstName: 'Ana' }), 'Hi 3');
  assert.equal(compileTemplate('subject', 'Hi {{ firstName.length }}{% if x %}{% endif %}').render({ firstName: 'Ana' }), 'Hi 3');
});

test('a value that cannot be printed gives liquidjs\'s RenderError, fast path or not', () => {
  // Shrunk input: {"kind":"subject","source":"{{vip}}","data":{"vip":[{"toString":""}]}}
  const data = JSON.parse('{"vip":[{"toString":""}]}') as Record<string, unknown>;
  assert.throws(() => compileTemplate('subject', '{{vip}}').render(data), { name: 'RenderError' });
});
