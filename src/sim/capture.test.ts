import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { captureMessage, headerValue } from './capture.ts';

const message = 'Received: from a\r\n by b\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\n and more\r\nMessage-ID:\r\n <id-1@estafeta.test>\r\n\r\nBody line\r\n\r\nSubject: not a header\r\n';

test('keeps the header block, split anywhere across chunks, and the size', async () => {
  for (const cut of [1, 7, 40, 70, 200]) {
    const chunks = [message.slice(0, cut), message.slice(cut)].filter(Boolean).map((s) => Buffer.from(s));
    const got = await captureMessage(Readable.from(chunks), false);
    assert.equal(got.headers, message.slice(0, message.indexOf('\r\n\r\n')), `cut at ${cut}`);
    assert.equal(got.size, message.length);
    assert.equal(got.raw, null);
  }
});

test('keeps the whole message only when asked', async () => {
  const got = await captureMessage(Readable.from([Buffer.from(message)]), true);
  assert.equal(got.raw?.toString(), message);
});

test('reads folded header values case-insensitively, never from the body', () => {
  const headers = message.slice(0, message.indexOf('\r\n\r\n'));
  assert.equal(headerValue(headers, 'message-id'), '<id-1@estafeta.test>');
  assert.equal(headerValue(headers, 'SUBJECT'), '=?UTF-8?Q?caf=C3=A9?= and more');
  assert.equal(headerValue(headers, 'from'), null);
});
