import { test } from 'node:test';
import assert from 'node:assert/strict';
import PostalMime from 'postal-mime';
import * as qp from 'nodemailer/lib/qp';
import * as mimeFuncs from 'nodemailer/lib/mime-funcs';
import { boundaryFor, buildMessage, encodeAsciiQp, formatAddress, MimeBuildError } from './mime-build.ts';

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

// The builder's shortcuts (line ends checked before converting, ASCII by byte length, lines
// measured by search, short headers not folded, ASCII bytes as latin1) must give the bytes
// of the straightforward encoding below, which is what the builder did before them.
function referenceBuild(parts: { headers: [string, string][]; text: string | null; html: string | null }, boundary: string): Buffer {
  const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');
  const structured = new Set(['from', 'to', 'message-id', 'list-unsubscribe', 'date']);
  const head = parts.headers.map(([n, v]) => {
    const clean = v.replace(/[\r\n]+\s*/g, ' ');
    const encoded = structured.has(n.toLowerCase()) || !/[^\x20-\x7e\t]/.test(clean) ? clean : mimeFuncs.encodeWords(clean, 'Q', 52, true);
    return crlf(mimeFuncs.foldLines(`${n}: ${encoded}`, 76));
  });
  head.push('MIME-Version: 1.0');
  const part = (content: string, mime: string) => {
    const body = crlf(content);
    const plain = !/[^\x00-\x7e]/.test(body) && !body.split('\r\n').some((l) => l.length > 998);
    return `Content-Type: ${mime}; charset=utf-8\r\nContent-Transfer-Encoding: ${plain ? '7bit' : 'quoted-printable'}\r\n\r\n${plain ? body : crlf(qp.wrap(qp.encode(body), 76))}`;
  };
  let out: string;
  if (parts.text && parts.html) {
    head.push(`Content-Type: multipart/alternative;\r\n boundary="${boundary}"`);
    out = `${head.join('\r\n')}\r\n\r\n--${boundary}\r\n${part(parts.text, 'text/plain')}\r\n--${boundary}\r\n${part(parts.html, 'text/html')}\r\n--${boundary}--\r\n`;
  } else {
    const p = part(parts.html ?? parts.text ?? '', parts.html ? 'text/html' : 'text/plain');
    out = head.join('\r\n') + '\r\n' + p + (p.endsWith('\r\n') ? '' : '\r\n');
  }
  return Buffer.from(out, 'utf8');
}

test('the builder gives the same bytes as the straightforward encoding, on 2,000 random messages', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), (seed >>> 8) % n);
  const all = ['word ', 'Zoë ', '€', '\n', '\r\n', '\r', '\x7f', '\t', '  ', '=', '.', 'x'.repeat(70), 'y'.repeat(1000), '😀', '<p>', '\r\n\r\n'];
  let pieces = all;
  const randomText = (n: number) => Array.from({ length: n }, () => pieces[rnd(pieces.length)]).join('');
  for (let i = 0; i < 2000; i++) {
    // A few kinds of piece per message, so that each rule (DEL, long line, bare LF...) is
    // sometimes the only one that decides.
    pieces = Array.from({ length: 1 + rnd(3) }, () => all[rnd(all.length)]);
    const headers: [string, string][] = [
      ['From', formatAddress(rnd(2) ? 'Tienda Española' : 'Shop', 'news@shop.example')],
      ['To', rnd(5) ? `user${i}@example.org` : `zoë${i}@exämple.org`],
      ['Subject', randomText(rnd(12))],
      ['Message-ID', `<${i}.x@shop.example>`],
      ['X-Long', randomText(rnd(30))],
    ];
    const text = rnd(4) ? randomText(rnd(60)) : null;
    const html = rnd(4) ? randomText(rnd(60)) : null;
    const got = buildMessage({ headers, text, html });
    const boundary = /boundary="([^"]+)"/.exec(got.toString('latin1'))?.[1] ?? '';
    assert.ok(got.equals(referenceBuild({ headers, text: text || null, html: html || null }, boundary)), `message ${i} differs`);
  }
});

// Security review, finding 3: a header name is checked by the builder too (defence in depth).
test('a header name with a line break, a colon or a space is refused; values have line breaks folded to a space', () => {
  for (const name of ['X-A: b\r\nBcc: x@evil.test\r\nX-C', 'X-A\nBcc', 'X-A:', 'X A', '', 'X-\u00e9']) {
    assert.throws(() => buildMessage({ headers: [[name, 'v']], text: 't' }), (err: Error) => err instanceof MimeBuildError && /header name|cannot be empty/.test(err.message), JSON.stringify(name));
  }
  const raw = buildMessage({ headers: [['X-A', 'b\r\nBcc: x@evil.test'], ['X-B', 'c\rCc: y@evil.test'], ['X-C', 'd\nTo: z@evil.test']], text: 't' }).toString('latin1');
  const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
  assert.deepEqual(head.split('\r\n').map((l) => l.split(':')[0]), ['X-A', 'X-B', 'X-C', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding']);
});

// Security review, finding 4: boundaries are random per message and checked against the parts.
const boundaryOf = (raw: Buffer) => /boundary="([^"]+)"/.exec(raw.toString('latin1'))![1];

test('boundaries are 128 random bits per message, not a prefix and a counter', () => {
  const seen = Array.from({ length: 3000 }, () => boundaryOf(buildMessage({ headers: [['Subject', 's']], text: 't', html: '<p>h</p>' })));
  assert.equal(new Set(seen).size, seen.length);
  for (const b of seen) assert.match(b, /^=_est_[0-9a-f]{32}$/);
  // No shared prefix beyond the fixed one: the first random characters vary.
  assert.ok(new Set(seen.map((b) => b.slice(6, 8))).size > 200);
});

test('a boundary found in the content is drawn again, and the builder refuses when every draw is', () => {
  const draws = ['=_est_a', '=_est_b', '=_est_c'];
  assert.equal(boundaryFor(['x\r\n--=_est_a\r\ny', 'z --=_est_b'], () => draws.shift()!), '=_est_c');
  assert.equal(boundaryFor(['--=_est_a'], () => '=_est_a'), null);
  // Without "--" before it, the string is no delimiter.
  assert.equal(boundaryFor(['=_est_a'], () => '=_est_a'), '=_est_a');
});

test('in a multipart message no line of a part begins with "--", and the parts decode back exactly', async () => {
  let seed = 11;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), (seed >>> 8) % n);
  const pieces = ['--', '-', '--=_est_', 'word ', 'Zoë ', '\n', '\r\n', 'x'.repeat(70), 'y'.repeat(1000), '<!-- c -->', '=', ' ', '\t', '.'];
  for (let i = 0; i < 300; i++) {
    const randomText = () => Array.from({ length: 1 + rnd(40) }, () => pieces[rnd(pieces.length)]).join('');
    const text = `t${randomText()}`;
    const html = `h${randomText()}`;
    const raw = buildMessage({ headers: [['Subject', 's']], text, html });
    const boundary = boundaryOf(raw);
    const dashLines = raw.toString('latin1').split(/\r\n|\r|\n/).filter((l) => l.startsWith('--'));
    assert.deepEqual(dashLines, [`--${boundary}`, `--${boundary}`, `--${boundary}--`], `message ${i}`);
    const parsed = await PostalMime.parse(raw);
    // postal-mime ends a quoted-printable part with a line break the bytes do not have.
    const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n').replace(/(\r\n)+$/, '');
    assert.equal(crlf(parsed.text ?? ''), crlf(text), `text of message ${i}`);
    assert.equal(crlf(parsed.html ?? ''), crlf(html), `html of message ${i}`);
  }
  // A bare CR becomes a line end on the wire (the SMTP encoder writes CRLF), so "--" after one counts.
  const bare = buildMessage({ headers: [['Subject', 's']], text: 'a\r--x', html: '<p>h</p>' }).toString('latin1');
  assert.match(bare, /Content-Transfer-Encoding: quoted-printable\r\n\r\na\r=2D-x/);
  // A signature line "-- " in a part is written =2D-=20; parts without such a line stay 7bit.
  const sig = buildMessage({ headers: [['Subject', 's']], text: 'Hi\n-- \nShop', html: '<p>a -- b <!-- c --></p>' }).toString('latin1');
  assert.match(sig, /quoted-printable\r\n\r\nHi\r\n=2D-=20\r\nShop\r\n/);
  assert.match(sig, /7bit\r\n\r\n<p>a -- b <!-- c --><\/p>\r\n/);
  // A single-part message has no boundary: its "--" lines are left as they are.
  assert.match(buildMessage({ headers: [['Subject', 's']], text: 'Hi\n-- \nShop' }).toString('latin1'), /7bit\r\n\r\nHi\r\n-- \r\nShop/);
});

test('the ASCII quoted-printable encoder gives the bytes of nodemailer qp.encode, on 5,000 random texts', () => {
  let seed = 5;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), (seed >>> 8) % n);
  const pieces = [' ', '\t', '\r\n', '\r', '\n', '=', '-', '--', 'word', '=3D', ' \r\n', '\t\n', ...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i))];
  for (let i = 0; i < 5000; i++) {
    const s = Array.from({ length: rnd(30) }, () => pieces[rnd(pieces.length)]).join('');
    assert.equal(encodeAsciiQp(s), qp.encode(s), JSON.stringify(s));
  }
});
