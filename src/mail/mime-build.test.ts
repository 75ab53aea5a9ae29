import { test } from 'node:test';
import assert from 'node:assert/strict';
import PostalMime from 'postal-mime';
import { buildMessage, formatAddress } from './mime-build.ts';

test('builds multipart/alternative that a MIME parser reads back exactly', async () => {
  const html = '<p>Hola Zoë, ¿qué tal?</p>' + '<p>' + 'x'.repeat(2000) + '</p>';
  const text = 'Hola Zoë,\nline two\n';
  const raw = buildMessage({
    headers: [
      ['From', formatAddress('Tienda Española', 'news@shop.example')],
      ['To', 'zoe@example.org'],
      ['Subject', 'Ofertas de otoño para Zoë'],
      ['Message-ID', '<1.a.b@shop.example>'],
      ['X-Campaign', 'otoño'],
    ],
    text,
    html,
  });
  const s = raw.toString('utf8');
  assert.ok(!/[^\x00-\x7f]/.test(s), 'the message is 7-bit clean');
  assert.ok(s.split('\r\n').every((l) => l.length <= 998), 'no line exceeds 998 characters');
  assert.ok(!/[^\r]\n/.test(s), 'every line ends with CRLF');
  const parsed = await PostalMime.parse(raw);
  assert.equal(parsed.subject, 'Ofertas de otoño para Zoë');
  assert.equal(parsed.from?.name, 'Tienda Española');
  assert.equal(parsed.from?.address, 'news@shop.example');
  assert.equal(parsed.messageId, '<1.a.b@shop.example>');
  assert.equal(parsed.html?.trim(), html);
  assert.equal(parsed.text?.replace(/\r\n/g, '\n').trim(), text.trim());
  assert.equal(parsed.headers.find((h) => h.key === 'x-campaign')?.value, '=?UTF-8?Q?oto=C3=B1o?=', 'unstructured headers are RFC 2047 encoded');
});

test('a text-only message is a single part', async () => {
  const raw = buildMessage({ headers: [['Subject', 'Plain']], text: 'just text' });
  const parsed = await PostalMime.parse(raw);
  assert.match(raw.toString(), /Content-Type: text\/plain; charset=utf-8/);
  assert.equal(parsed.text?.trim(), 'just text');
  assert.equal(parsed.html, undefined);
});

test('display names with specials are quoted; header injection is neutralised', () => {
  assert.equal(formatAddress('Doe, John', 'j@x.test'), '"Doe, John" <j@x.test>');
  assert.equal(formatAddress('', 'j@x.test'), 'j@x.test');
  const raw = buildMessage({ headers: [['Subject', 'Hi\r\nBcc: evil@x.test']], text: 't' }).toString();
  assert.ok(!/^Bcc:/m.test(raw));
});
