/** readRaw and checkAttachments: what a raw message and an attachment are read as, and what is refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readRaw } from './raw.ts';
import { checkAttachments } from './attachments.ts';

test('a raw message: folded headers read, ours and Bcc removed, the body kept byte for byte, text or base64 alike', () => {
  const text = 'From: =?utf-8?q?Caf=C3=A9?= <a@app.example>\nTo: one@x.test,\n two@x.test\nBcc: three@x.test\nX-Estafeta-Meta-Id: 7\nSubject: hi\n\nline 1\n\u00e9\n';
  for (const given of [text, Buffer.from(text).toString('base64')]) {
    const r = readRaw(given);
    assert.ok(r.ok);
    assert.equal(r.message.from.domain, 'app.example');
    assert.deepEqual(r.message.recipients, ['one@x.test', 'two@x.test', 'three@x.test']);
    assert.deepEqual(r.message.metadata, { id: '7' });
    assert.equal(r.message.messageId, null);
    assert.equal(r.message.bytes.toString('utf8'), 'From: =?utf-8?q?Caf=C3=A9?= <a@app.example>\r\nTo: one@x.test,\r\n two@x.test\r\nSubject: hi\r\n\r\nline 1\r\n\u00e9\r\n');
  }
});

test('a raw message without one From mailbox, or not starting with headers, is refused', () => {
  assert.deepEqual(readRaw('Subject: x\r\n\r\nhi'), { ok: false, problem: 'the message has no From header' });
  assert.deepEqual(readRaw('From: a@b.example\r\nFrom: c@b.example\r\n\r\nhi'), { ok: false, problem: 'the message has more than one From header' });
  assert.match((readRaw('From: a@b.example, c@b.example\r\n\r\nhi') as { problem: string }).problem, /one mailbox/);
  assert.match((readRaw('hello there\r\n\r\nhi') as { problem: string }).problem, /not a header line/);
});

test('attachments: the type guessed from the name, a cid inline, and what is refused', () => {
  const ok = checkAttachments([{ filename: 'a.pdf', content: 'JVBERi0=' }, { filename: 'logo.png', content: 'iVBORw0KGgo=', cid: 'logo@app' }]);
  assert.ok(ok.ok);
  assert.deepEqual(ok.list.map((a) => [a.contentType, a.size, a.cid]), [['application/pdf', 5, null], ['image/png', 8, 'logo@app']]);
  assert.match(ok.list[1].part, /Content-Disposition: inline; filename=logo\.png\r\nContent-ID: <logo@app>\r\n\r\niVBORw0KGgo=\r\n$/);
  const refused = (a: Parameters<typeof checkAttachments>[0][0]) => { const r = checkAttachments([a]); return r.ok ? null : r.problem; };
  assert.match(refused({ filename: 'a\r\nX-Evil: 1', content: '' })!, /control character or a line break/);
  assert.match(refused({ filename: 'a', content: 'not base64!' })!, /not base64/);
  assert.match(refused({ filename: 'a', content: '', cid: '<x>' })!, /cid must be/);
  assert.match(refused({ filename: 'a', content: '', contentType: 'text/html\r\nX: y' })!, /is not a type\/subtype/);
});
