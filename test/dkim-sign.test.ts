/**
 * Estafeta's DKIM signer against independent verifiers: python3-dkim (Debian) and mailauth.
 * RSA-2048 and Ed25519 (RFC 8463), both canonicalizations we offer, two selectors at once,
 * awkward bodies, and the worker pool; a changed body, a changed header or an added From
 * must fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { buildMessage } from '../src/mail/mime-build.ts';
import { dnsRecordName, dnsRecordValue, generateDkimKey, importDkimKey, signMessage, SignPool, type KeyMaterial, type SigningKey } from '../src/dkim/index.ts';
import { pythonDkimMissing, verifyWithMailauth, verifyWithPythonDkim, type TxtRecords } from './helpers/dkim-verifiers.ts';

const skip = pythonDkimMissing();
const keys: Record<string, KeyMaterial> = {
  rsa: await generateDkimKey('rsa-sha256'),
  ed: await generateDkimKey('ed25519-sha256'),
};
const signing = (name: 'rsa' | 'ed', selector: string, domain = 'shop.example'): SigningKey => ({ domain, selector, algorithm: keys[name].algorithm, privateKey: createPrivateKey(keys[name].privateKey) });
const records: TxtRecords = {
  [dnsRecordName('r1', 'shop.example')]: dnsRecordValue('rsa-sha256', keys.rsa.publicKey),
  [dnsRecordName('e1', 'shop.example')]: dnsRecordValue('ed25519-sha256', keys.ed.publicKey),
};

function campaignMessage(extra: [string, string][] = []): Buffer {
  return buildMessage({
    headers: [
      ['From', 'Tienda Española <news@shop.example>'],
      ['To', 'ana@example.org'],
      ['Reply-To', 'care@shop.example'],
      ['Subject', 'Ofertas de otoño para ti, Ana — ¡sólo hoy!'],
      ['Date', 'Fri, 27 Nov 2026 08:00:00 +0000'],
      ['Message-ID', '<1.abc@shop.example>'],
      ['List-Unsubscribe', `<https://shop.example/unsubscribe/${'x'.repeat(80)}>, <mailto:unsubscribe+abc@bounces.shop.example?subject=unsubscribe>`],
      ['List-Unsubscribe-Post', 'List-Unsubscribe=One-Click'],
      ['Feedback-ID', '7:estafeta'],
      ...extra,
    ],
    text: 'Hola Ana,\n\n  ofertas   con\tespacios  \ny líneas vacías al final\n\n\n',
    html: '<p>Hola Ana</p>\n<p>ñandú</p>',
  });
}

async function verdicts(message: Buffer): Promise<{ python: (true | string)[]; mailauth: (true | string)[] }> {
  return { python: verifyWithPythonDkim(message, records), mailauth: await verifyWithMailauth(message, records) };
}

test('RSA-2048 and Ed25519 signatures verify with python3-dkim and mailauth, in both canonicalizations', { skip: skip ?? false }, async () => {
  for (const canonicalization of ['relaxed/relaxed', 'relaxed/simple'] as const) {
    for (const [name, selector] of [['rsa', 'r1'], ['ed', 'e1']] as const) {
      const signed = signMessage(campaignMessage(), [signing(name, selector)], { canonicalization });
      assert.match(signed.toString('latin1'), new RegExp(`^DKIM-Signature: v=1; a=${keys[name].algorithm}; c=${canonicalization}; d=shop.example; s=${selector};`));
      assert.deepEqual(await verdicts(signed), { python: [true], mailauth: [true] }, `${name} ${canonicalization}`);
    }
  }
});

test('two selectors sign one message (key rotation) and both verify', { skip: skip ?? false }, async () => {
  const signed = signMessage(campaignMessage(), [signing('rsa', 'r1'), signing('ed', 'e1')]);
  assert.equal(signed.toString('latin1').match(/^DKIM-Signature:/gm)?.length, 2);
  assert.deepEqual(await verdicts(signed), { python: [true, true], mailauth: [true, true] });
});

test('the signed header list covers what receivers look at, and oversigns From', () => {
  const signed = signMessage(campaignMessage(), [signing('ed', 'e1')]).toString('latin1');
  const h = /\bh=([^;]+);/.exec(signed)![1].replace(/\s+/g, '');
  assert.equal(h, 'From:To:Subject:Date:Message-ID:MIME-Version:Content-Type:List-Unsubscribe:List-Unsubscribe-Post:Reply-To:Feedback-ID:From');
});

test('a changed body, a changed Subject or an added From fails verification', { skip: skip ?? false }, async () => {
  const signed = signMessage(campaignMessage(), [signing('rsa', 'r1'), signing('ed', 'e1')]).toString('latin1');
  const tamperedBody = Buffer.from(signed.replace('<p>Hola Ana</p>', '<p>Hola Eve</p>'), 'latin1');
  const tamperedSubject = Buffer.from(signed.replace(/^Subject: .*$/m, 'Subject: Free money'), 'latin1');
  const addedFrom = Buffer.from(signed.replace(/^To: /m, 'From: ceo@evil.example\r\nTo: '), 'latin1');
  for (const [what, message] of [['body', tamperedBody], ['subject', tamperedSubject], ['added From', addedFrom]] as const) {
    const v = await verdicts(message);
    for (const verdict of [...v.python, ...v.mailauth]) assert.notEqual(verdict, true, `${what} must not verify: ${JSON.stringify(v)}`);
  }
  assert.match(verifyWithPythonDkim(tamperedBody, records)[0] as string, /body hash mismatch/);
});

test('an imported PKCS#1 key signs like a generated one', { skip: skip ?? false }, async () => {
  const pkcs1 = createPrivateKey(keys.rsa.privateKey).export({ type: 'pkcs1', format: 'pem' }).toString();
  const imported = importDkimKey(pkcs1);
  assert.equal(imported.algorithm, 'rsa-sha256');
  assert.equal(imported.publicKey, keys.rsa.publicKey);
  assert.throws(() => importDkimKey(pkcs1, 'ed25519-sha256'), /does not match algorithm ed25519-sha256/);
  assert.throws(() => importDkimKey('not a key'), /not a readable PEM private key/);
  assert.equal(Buffer.from(keys.ed.publicKey, 'base64').length, 32, 'Ed25519 publishes the raw 32-byte key (RFC 8463)');
});

test('the worker pool signs batches that verify, in order', { skip: skip ?? false }, async () => {
  const pool = new SignPool(2);
  try {
    const messages = Array.from({ length: 40 }, (_, i) => campaignMessage([['X-Row', String(i)]]));
    const poolKeys = [
      { id: 1, domain: 'shop.example', selector: 'r1', algorithm: 'rsa-sha256' as const, privateKey: keys.rsa.privateKey },
      { id: 2, domain: 'shop.example', selector: 'e1', algorithm: 'ed25519-sha256' as const, privateKey: keys.ed.privateKey },
    ];
    const headers = await pool.sign(messages, poolKeys, { time: Math.floor(Date.now() / 1000), canonicalization: 'relaxed/relaxed' });
    assert.equal(headers.length, 40);
    for (const i of [0, 39]) {
      const signed = Buffer.concat([Buffer.from(headers[i], 'latin1'), messages[i]]);
      assert.deepEqual(await verdicts(signed), { python: [true, true], mailauth: [true, true] }, `message ${i}`);
    }
    // Signatures belong to their own message: swapping them fails.
    const swapped = Buffer.concat([Buffer.from(headers[1], 'latin1'), messages[2]]);
    assert.notEqual(verifyWithPythonDkim(swapped, records)[0], true);
  } finally {
    await pool.close();
  }
});
