import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relaxedBody, relaxedHeader, simpleBody, splitMessage, withCrlf } from './canonicalize.ts';

const body = (s: string) => Buffer.from(s, 'latin1');

test('relaxed canonicalization follows the example of RFC 6376 section 3.4.5', () => {
  const message = body('A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n');
  const { fields, bodyStart } = splitMessage(message);
  assert.deepEqual(fields.map((f) => relaxedHeader(f.raw)), ['a:X', 'b:Y Z']);
  assert.equal(relaxedBody(message, bodyStart).toString('latin1'), ' C\r\nD E\r\n');
  assert.equal(simpleBody(message, bodyStart).toString('latin1'), ' C \r\nD \t E\r\n');
});

test('empty bodies: relaxed is empty, simple is one CRLF', () => {
  for (const m of ['From: a@b.c\r\n\r\n', 'From: a@b.c\r\n\r\n\r\n\r\n', 'From: a@b.c\r\n\r\n  \r\n']) {
    const { bodyStart } = splitMessage(body(m));
    assert.equal(relaxedBody(body(m), bodyStart).length, 0, JSON.stringify(m));
  }
  const m = body('From: a@b.c\r\n\r\n\r\n\r\n');
  assert.equal(simpleBody(m, splitMessage(m).bodyStart).toString(), '\r\n');
});

test('a body without a final CRLF gets one, and clean bodies are not rewritten', () => {
  const m = body('From: a@b.c\r\n\r\nline one\r\nline two');
  const { bodyStart } = splitMessage(m);
  assert.equal(relaxedBody(m, bodyStart).toString(), 'line one\r\nline two\r\n');
  assert.equal(simpleBody(m, bodyStart).toString(), 'line one\r\nline two\r\n');
  const trailingSpace = body('From: a@b.c\r\n\r\nend ');
  assert.equal(relaxedBody(trailingSpace, splitMessage(trailingSpace).bodyStart).toString(), 'end\r\n');
  // A single space at a line end is the only thing to rewrite in these; a CR first in the body has no space before it.
  for (const [text, want] of [['one \r\ntwo\r\n', 'one\r\ntwo\r\n'], ['one\r\ntwo \r\n', 'one\r\ntwo\r\n'], ['\r\none\r\n', '\r\none\r\n']]) {
    const m2 = body(`From: a@b.c\r\n\r\n${text}`);
    assert.equal(relaxedBody(m2, splitMessage(m2).bodyStart).toString(), want, JSON.stringify(text));
  }
  // Bytes outside ASCII survive unchanged (latin1 maps each byte to one character).
  const utf8 = Buffer.concat([body('From: a@b.c\r\n\r\n'), Buffer.from('Olá  mundo \r\n', 'utf8')]);
  assert.equal(relaxedBody(utf8, splitMessage(utf8).bodyStart).toString('utf8'), 'Olá mundo\r\n');
});

test('header fields: folded values, names trimmed and lower-cased', () => {
  const m = body('Subject: a very\r\n long   subject \r\nX-Empty:\r\nTO :  x@y.z\r\n\r\nbody\r\n');
  const { fields } = splitMessage(m);
  assert.deepEqual(fields.map((f) => f.key), ['subject', 'x-empty', 'to']);
  assert.deepEqual(fields.map((f) => relaxedHeader(f.raw)), ['subject:a very long subject', 'x-empty:', 'to:x@y.z']);
  // One-line fields (the quick path) and the rest agree; only spaces and tabs are whitespace here.
  assert.equal(relaxedHeader('Subject: plain one'), 'subject:plain one');
  assert.equal(relaxedHeader('Subject:plain'), 'subject:plain');
  assert.equal(relaxedHeader('Subject:\t a \t b\t'), 'subject:a b');
  assert.equal(relaxedHeader('Subject: a\xa0'), 'subject:a\xa0');
  assert.equal(relaxedHeader('Subject: a\xa0 '), 'subject:a\xa0');
});

test('bare LF line ends become CRLF, as they will on the wire; CRLF messages are returned as they are', () => {
  const crlf = body('From: a@b.c\r\n\r\nline\r\n');
  assert.equal(withCrlf(crlf), crlf);
  assert.equal(withCrlf(body('From: a@b.c\n\nline one\r\nline two\n')).toString(), 'From: a@b.c\r\n\r\nline one\r\nline two\r\n');
});
