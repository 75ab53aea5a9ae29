import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSmtpReply } from './smtp-reply.ts';

// Found by the fuzzer (npm run fuzz -- --target smtp-reply): a lone CR stayed inside the
// reply text, so a server could put a line break into delivery logs and reports.
test('a lone CR ends a reply line like CRLF and LF do', () => {
  const reply = parseSmtpReply(' User unknown\r000 ');
  assert.doesNotMatch(reply.text, /[\r\n]/);
  assert.equal(reply.text, 'User unknown');
  assert.deepEqual(parseSmtpReply('550-5.1.1 first\r550 5.1.1 second'), { code: 550, enhanced: '5.1.1', text: 'first second' });
});

// Found by the fuzzer: U+2028 in the text (a line separator to JavaScript's ".") hid the
// code and the enhanced code, so a permanent 550 was read as "no reply" and retried.
test('a reply whose text holds U+2028 or U+2029 keeps its code', () => {
  assert.deepEqual(parseSmtpReply('550 5.1.1 user\u2028unknown'), { code: 550, enhanced: '5.1.1', text: 'user\u2028unknown' });
  assert.equal(parseSmtpReply('250 \r!\u2029 0').code, 250);
  assert.equal(parseSmtpReply('250 !\u2029 0').code, 250);
});

// Found by the fuzzer: with two spaces after the code the enhanced code was not seen and
// the text kept a leading space (format-then-parse gave another reply).
test('extra spaces after the code do not hide the enhanced code', () => {
  assert.deepEqual(parseSmtpReply('550  5.1.1  User unknown'), { code: 550, enhanced: '5.1.1', text: 'User unknown' });
  assert.deepEqual(parseSmtpReply(' 2.0.0 \r\n250  2.0.0 \r\n250 '), { code: 250, enhanced: '2.0.0', text: '' });
});
