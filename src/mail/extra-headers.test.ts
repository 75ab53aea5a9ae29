import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extraHeaderProblem, extraHeadersProblems } from './extra-headers.ts';

test('extra headers: ordinary ones pass; names, values, reserved names and count are checked', () => {
  assert.equal(extraHeaderProblem('X-Campaign', 'spring\tsale'), null);
  assert.equal(extraHeaderProblem('X-Season', 'otoño'), null);
  assert.equal(extraHeaderProblem('Precedence', 'bulk'), null);
  assert.match(extraHeaderProblem('X-A: b\r\nBcc: x@evil.test\r\nX-C', 'v')!, /^the header name "X-A: b\\r\\nBcc: x@evil\.test\\r\\nX-C" has characters/);
  assert.match(extraHeaderProblem('X-A', 'b\r\nBcc: x')!, /line break/);
  assert.match(extraHeaderProblem('X-A', 'b\u2028c')!, /line break/);
  assert.match(extraHeaderProblem('X-A', 'b\u0085c')!, /control character/);
  for (const name of ['From', 'to', 'CC', 'Bcc', 'Sender', 'Reply-To', 'Return-Path', 'Subject', 'Message-ID', 'Date', 'MIME-Version', 'Content-Type', 'content-transfer-encoding', 'DKIM-Signature', 'List-Unsubscribe', 'List-Unsubscribe-Post', 'Feedback-ID', 'X-Estafeta-Log', 'Resent-Bcc', 'ARC-Seal', 'Received']) {
    assert.match(extraHeaderProblem(name, 'v')!, new RegExp(`^the header "${name}" cannot be set as an extra header: `), name);
  }
  assert.deepEqual(extraHeadersProblems({ 'X-A': '1', 'x-a': '2', Bcc: 'x' }), ['the header "x-a" is given twice (names are case-insensitive)', 'the header "Bcc" cannot be set as an extra header: it would change who receives the message']);
  const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`X-${i}`, 'v']));
  assert.deepEqual(extraHeadersProblems(many), ['at most 30 extra headers (1000 given)']);
  // A long name is cut short in the message.
  assert.ok(extraHeaderProblem(`X-${'a'.repeat(5000)}`, 'v')!.length < 200);
});
