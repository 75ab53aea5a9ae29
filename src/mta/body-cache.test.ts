/**
 * The spool's body cache: a body is taken once and only for the row it was written for,
 * it admits bodies only while there is room, and forgets old ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpoolBodyCache } from './body-cache.ts';

const row = (id: number, body: string, over: Partial<{ rcptTo: string; messageId: string | null; size: number }> = {}) => ({ id, rcptTo: `to${id}@example.test`, messageId: `<${id}@m>`, size: Buffer.byteLength(body), ...over });

test('a body is taken once, for its own row only', () => {
  const c = new SpoolBodyCache();
  c.put(1, 'to1@example.test', '<1@m>', Buffer.from('one'), 0);
  c.put(2, 'to2@example.test', '<2@m>', Buffer.from('two'), 0);
  assert.equal(c.take(row(1, 'one'))?.toString(), 'one');
  assert.equal(c.take(row(1, 'one')), undefined, 'taken once');
  assert.equal(c.take(row(2, 'two', { messageId: '<other@m>' })), undefined, 'another message under the same id is read from the database');
  assert.equal(c.take(row(2, 'two')), undefined, 'and the entry is gone');
  assert.equal(c.take(row(3, 'x')), undefined);
  assert.deepEqual({ hits: c.hits, misses: c.misses, size: c.size }, { hits: 1, misses: 4, size: 0 });
});

test('it admits bodies while there is room and forgets old ones', () => {
  const c = new SpoolBodyCache(10, 1000);
  c.put(1, 'to1@example.test', '<1@m>', Buffer.alloc(6), 0);
  c.put(2, 'to2@example.test', '<2@m>', Buffer.alloc(6), 0);
  assert.equal(c.size, 1, 'no room for the second: the first, claimed first, stays');
  assert.ok(c.take(row(1, 'xxxxxx')));
  c.put(3, 'to3@example.test', '<3@m>', Buffer.alloc(6), 10);
  assert.equal(c.size, 1, 'room again once taken');
  c.put(4, 'to4@example.test', '<4@m>', Buffer.alloc(1), 1010);
  assert.equal(c.take(row(3, 'xxxxxx')), undefined, 'older than maxAgeMs: forgotten');
  assert.ok(c.take(row(4, 'x')));
});
