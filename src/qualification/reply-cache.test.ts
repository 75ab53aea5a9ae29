import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyReply, loadBouncePolicy } from './index.ts';

// Found by the fuzzer (npm run fuzz -- --target smtp-reply: heap growth): the reply cache
// was keyed by the whole reply text, so 20,000 long replies from a hostile server stayed in
// memory whole. Rules read only the first 4,000 characters, so the key is cut there too.
test('the reply cache holds at most the part of a reply the rules read', () => {
  const policy = loadBouncePolicy();
  const long = '550 5.1.1 user unknown '.padEnd(200_000, 'x');
  const q = classifyReply({ code: 550, enhanced: '5.1.1', text: long }, policy);
  assert.equal(q.category, 'user-unknown');
  for (const key of policy.replyCache.keys()) assert.ok(key.length <= 4_100, `a cache key of ${key.length} characters`);
  // Same first 4,000 characters, same rules' answer: one entry.
  classifyReply({ code: 550, enhanced: '5.1.1', text: `${long}y` }, policy);
  assert.equal(policy.replyCache.size, 1);
});
