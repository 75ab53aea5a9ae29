import { test } from 'node:test';
import assert from 'node:assert/strict';
import DataStream from 'nodemailer/lib/smtp-connection/data-stream';
import { installFastDotStuffing, stuffPlainCrlf } from './dot-stuffing.ts';

type Ctor = new () => NodeJS.ReadWriteStream & { outByteCount: number; inByteCount: number };

/** What a DataStream writes for these chunks. */
async function encode(chunks: Buffer[]): Promise<{ bytes: Buffer; inCount: number; outCount: number }> {
  const s = new (DataStream as unknown as Ctor)();
  const out: Buffer[] = [];
  s.on('data', (b: Buffer) => out.push(b));
  const ended = new Promise((r) => s.on('end', r));
  for (const c of chunks) s.write(c);
  s.end();
  await ended;
  return { bytes: Buffer.concat(out), inCount: s.inByteCount, outCount: s.outByteCount };
}

function randomChunks(seed: number): Buffer[] {
  let x = seed;
  const rnd = (n: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % n);
  // Mostly CRLF text with dots at line starts, sometimes a bare CR or LF.
  const pieces = ['a', 'bc ', '.', '..', '\r\n', '\r\n.', '\r\n', 'é'];
  const rare = ['\n', '\r', '\n.', '\r.'];
  let text = '';
  const len = 1 + rnd(200);
  for (let i = 0; i < len; i++) text += rnd(20) === 0 ? rare[rnd(rare.length)] : pieces[rnd(pieces.length)];
  const buf = Buffer.from(text, 'latin1');
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; ) {
    const n = 1 + rnd(rnd(3) === 0 ? 5 : 400);
    chunks.push(buf.subarray(i, i + n));
    i += n;
  }
  return chunks;
}

test('the fast path writes exactly what nodemailer writes, on 3,000 random inputs', async () => {
  const inputs = Array.from({ length: 3000 }, (_, i) => randomChunks(i + 1));
  const before = [];
  for (const chunks of inputs) before.push(await encode(chunks));
  installFastDotStuffing();
  for (let i = 0; i < inputs.length; i++) {
    const after = await encode(inputs[i]);
    assert.deepEqual(after, before[i], `input ${i}: ${JSON.stringify(Buffer.concat(inputs[i]).toString('latin1'))}`);
  }
});

test('dots at line starts are doubled and the data ends with CRLF.CRLF', async () => {
  installFastDotStuffing();
  const { bytes } = await encode([Buffer.from('.first\r\nline\r\n.\r\n..two\r\nend')]);
  assert.equal(bytes.toString(), '..first\r\nline\r\n..\r\n...two\r\nend\r\n.\r\n');
});

test('plain CRLF chunks take the fast path; bare line ends and split CRLFs do not', () => {
  assert.equal(stuffPlainCrlf(Buffer.from('a\r\n.b\r\n'), false)?.toString(), 'a\r\n..b\r\n');
  assert.equal(stuffPlainCrlf(Buffer.from('a\nb'), false), null);
  assert.equal(stuffPlainCrlf(Buffer.from('a\rb'), false), null);
  assert.equal(stuffPlainCrlf(Buffer.from('ab\r'), false), null);
  assert.equal(stuffPlainCrlf(Buffer.from('\nab'), 13), null);
});

test('a message written in one piece leaves in one chunk with its final dot (one socket write)', async () => {
  installFastDotStuffing();
  const s = new (DataStream as unknown as Ctor)();
  const out: Buffer[] = [];
  s.on('data', (b: Buffer) => out.push(b));
  const ended = new Promise((r) => s.on('end', r));
  s.end(Buffer.from('Subject: hi\r\n\r\n.body\r\n'));
  await ended;
  assert.deepEqual(out.map((b) => b.toString()), ['Subject: hi\r\n\r\n..body\r\n.\r\n']);
});
