/** parseSubmission: envelope recipients placed in To, Cc or Bcc by the headers; headers kept or left out by the extra-header rules; X-Estafeta-* read and dropped; attachments kept. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSubmission } from './parse.ts';

const raw = (headers: string, body = 'Hello') => Buffer.from(`${headers.trim().split('\n').join('\r\n')}\r\n\r\n${body}\r\n`);

test('recipients come from the envelope, each under the header that names it', async () => {
  const p = await parseSubmission(raw(`
From: "App" <no-reply@app.example>
To: ana@example.com, not-in-envelope@example.com
Cc: Bob <bob@example.com>
Subject: Hi
Message-ID: <own@app.example>
Date: Thu, 03 Dec 2026 10:00:00 +0000
Received: from somewhere
In-Reply-To: <earlier@app.example>
X-App: one
X-App: two
X-Estafeta-Stream: resets
X-Estafeta-Tag: a, b
X-Estafeta-Tag: c
X-Estafeta-Meta-User: 42
`), ['ANA@example.com', 'bob@example.com', 'hidden@example.com']);
  assert.ok(p.ok);
  assert.equal(p.stream, 'resets');
  assert.deepEqual([p.input.to, p.input.cc, p.input.bcc], [['ANA@example.com'], ['bob@example.com'], ['hidden@example.com']]);
  assert.deepEqual(p.input.from, { name: 'App', address: 'no-reply@app.example' });
  assert.deepEqual(p.input.tags, ['a', 'b', 'c']);
  assert.deepEqual(p.input.metadata, { user: '42' });
  // Kept: the application's own headers (the first of a repeated one); left out: ours and the servers'.
  assert.deepEqual(p.input.headers, { 'In-Reply-To': '<earlier@app.example>', 'X-App': 'one' });
  assert.equal(p.input.text?.trim(), 'Hello');
});

test('no From is refused with its code; attachments become the send API\'s', async () => {
  const noFrom = await parseSubmission(raw('To: a@example.com\nSubject: x'), ['a@example.com']);
  assert.deepEqual(noFrom.ok ? null : [noFrom.code, /no From/.test(noFrom.message)], [554, true]);
  const attached = await parseSubmission(raw(`
From: a@app.example
Subject: x
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b
`, '--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=x.pdf\r\n\r\nJVBERi0=\r\n--b--'), ['a@example.com']);
  assert.ok(attached.ok);
  assert.deepEqual(attached.input.attachments, [{ filename: 'x.pdf', content: Buffer.from('%PDF-').toString('base64'), contentType: 'application/pdf' }]);
  assert.equal(attached.input.text?.trim(), 'hi');
});
