import { test } from 'node:test';
import assert from 'node:assert/strict';
import PostalMime from 'postal-mime';
import { joinParts, postalMimeDecodersPatched } from './postal-mime-decoders.ts';

test('the installed postal-mime has its three decoders joined without a Blob (a new version that changes them is noticed here)', () => {
  assert.equal(postalMimeDecodersPatched, 3);
});

test('parts are joined to the same bytes as a Blob gives: UTF-8 strings, lone surrogates, byte arrays, views into larger buffers', async () => {
  const big = new Uint8Array([9, 9, 0xe2, 0x82, 0xac, 9]);
  const parts = ['caf\u00e9\n', new Uint8Array([0xff, 0x00, 0x41]), 'lone \ud800 surrogate', big.subarray(2, 5), new Uint8Array([1, 2]).buffer, ''];
  const viaBlob = Buffer.from(await new Blob(parts).arrayBuffer());
  assert.deepEqual(Buffer.from(joinParts(parts)), viaBlob);
});

test('plain, quoted-printable and base64 bodies still decode to their text', async () => {
  const raw = [
    'From: a@example.com',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Ol\u00e1, plain line one',
    'line two',
    '--b',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    '<p>caf=C3=A9 with a soft=',
    ' break</p>',
    '--b',
    'Content-Type: text/plain; charset=utf-8; name="x.txt"',
    'Content-Disposition: attachment; filename="x.txt"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('\u20ac attached').toString('base64'),
    '--b--',
    '',
  ].join('\r\n');
  const mail = await PostalMime.parse(Buffer.from(raw));
  assert.ok(mail.text?.startsWith('Ol\u00e1, plain line one\nline two\n'), 'the plain part, accented, comes first in the text');
  assert.ok(mail.html?.trim().endsWith('<p>caf\u00e9 with a soft break</p>'), 'the quoted-printable part decoded, soft break joined');
  assert.equal(Buffer.from(mail.attachments[0].content as ArrayBuffer).toString(), '\u20ac attached');
});
