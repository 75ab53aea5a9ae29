/**
 * SMTP submission end to end: a stream's SMTP credentials made through the API (shown once,
 * listed without the password, revoked), nodemailer submitting over STARTTLS with AUTH to a
 * running Estafeta whose certificate was generated self-signed, the message answered 250
 * only with its log written, delivered by the MTA to an smtp-server sink through loopback
 * DNS with our Message-ID and without the X-Estafeta-* headers (read as tags and metadata);
 * and the refusals, each with its code: a wrong password (535 5.7.8), no AUTH (530 5.7.0,
 * also for a relay attempt), AUTH before STARTTLS (538), a sender domain the stream does not
 * own (553 5.7.1 on MAIL, 550 5.7.1 on the From header), too large (552 5.3.4), too many
 * recipients (452 4.5.3), a denylisted recipient (550 per recipient); an attachment (a PDF)
 * is taken and delivered byte for byte. swaks (Debian's) submits once with STARTTLS and AUTH LOGIN; revoked
 * credentials open nothing; AUTH without STARTTLS works from loopback only when the operator
 * allows it, and a session is closed (421) at its third failed AUTH.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import nodemailer from 'nodemailer';
import PostalMime from 'postal-mime';
import { startSimDns, type SimDns } from '../src/sim/dns-server.ts';
import { freePort, startSink, type Sink } from './helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor, type TestEstafeta } from './helpers/estafeta.ts';

const MX = '127.0.3.58';

let dns: SimDns;
let sink: Sink;
let e: TestEstafeta;
let port: number;
let stream: { id: number; name: string };
let cred: { id: number; username: string; password: string };

before(async () => {
  const mxPort = await freePort([MX]);
  dns = await startSimDns({ port: 0, records: [{ name: 'apps.test', type: 'MX', exchange: 'mx.apps.test', priority: 10 }, { name: 'mx.apps.test', type: 'A', address: MX }] });
  sink = await startSink(MX, mxPort);
  e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port: mxPort }, submission: { maxSize: 200_000, maxRecipients: 3 } });
  port = e.app.submission!.port;
  const created = await e.api('POST', '/streams', { name: 'app-mail', fromDomains: ['app.example'], applyQuarantine: true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  stream = created.body;
});

after(async () => {
  await e?.stop();
  await sink?.stop();
  await dns?.stop();
});

type SendError = Error & { responseCode?: number; response?: string };

function transport(auth: { user: string; pass: string } | null, extra: Record<string, unknown> = {}) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    ...(auth ? { auth } : {}),
    connectionTimeout: 5000,
    socketTimeout: 20_000,
    ...extra,
  } as Parameters<typeof nodemailer.createTransport>[0]);
}

async function refusal(p: Promise<unknown>): Promise<SendError> {
  try {
    await p;
  } catch (err) {
    return err as SendError;
  }
  throw new Error('expected a refusal, the message was accepted');
}

const received = (to: string) => sink.received.filter((m) => m.to.includes(to));

test('SMTP credentials: made by an admin, the password shown once, listed without it, revoked', async () => {
  const made = await e.api('POST', `/streams/${stream.id}/smtp-credentials`);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.match(made.body.username, new RegExp(`^smtp-${stream.id}-[0-9a-f]{12}$`));
  assert.match(made.body.password, /^ests_[\w-]{43}$/);
  cred = made.body;
  const listed = await e.api('GET', `/streams/${stream.id}/smtp-credentials`);
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body.credentials.map((c: { username: string }) => c.username), [cred.username]);
  assert.ok(!JSON.stringify(listed.body).includes(cred.password), 'never listed with the password');
  const stored = await e.app.db.kysely.selectFrom('smtp_credentials').selectAll().execute();
  assert.ok(!JSON.stringify(stored).includes(cred.password), 'stored hashed');
  assert.equal((await e.api('POST', '/streams/999999/smtp-credentials')).status, 404);
  // An operator may not make them: they send as the stream's domains.
  const { createApiKey } = await import('../src/auth/index.ts');
  const operator = e.as((await createApiKey(e.app.db.kysely, { name: 'op-submission', role: 'operator', createdBy: 'test' })).key);
  assert.equal((await operator('POST', `/streams/${stream.id}/smtp-credentials`)).status, 403);
  assert.equal((await operator('GET', `/streams/${stream.id}/smtp-credentials`)).status, 403);
});

test('nodemailer over STARTTLS with AUTH: 250 after the log is written, delivered with our Message-ID, metadata headers removed', async () => {
  for (const method of ['PLAIN', 'LOGIN']) {
    const to = `ana-${method.toLowerCase()}@apps.test`;
    const info = await transport({ user: cred.username, pass: cred.password }, { authMethod: method }).sendMail({
      from: '"App" <no-reply@app.example>',
      to,
      subject: `Reset your password (${method})`,
      text: 'Your code is 123456',
      html: '<p>Your code is <b>123456</b></p>',
      messageId: '<app-own-id@app.example>',
      headers: { 'X-Estafeta-Stream': 'app-mail', 'X-Estafeta-Tag': 'reset, auth', 'X-Estafeta-Meta-User': '42', 'X-App': 'auth' },
    });
    assert.match(info.response, /^250 2\.0\.0 accepted for 1 of 1 recipients, logs (\d+); Message-ID <.+>$/);
    const logId = Number(/logs (\d+)/.exec(info.response)![1]);
    const ourId = /Message-ID (<.+>)$/.exec(info.response)![1];
    // Durable before 250: the log is already there, taken into account (or sent).
    const log = (await e.api('GET', `/logs/${logId}`)).body;
    assert.ok(['taken', 'sent'].includes(log.status), log.status);
    assert.equal(log.deliveryId, stream.id);
    assert.equal(log.messageId, ourId);
    await waitFor(`the ${method} message received`, async () => received(to).length === 1, 30_000);
    const raw = received(to)[0];
    const mail = await PostalMime.parse(raw.raw);
    const header = (name: string) => mail.headers.find((h) => h.key === name)?.value;
    assert.equal(header('message-id'), ourId, 'our Message-ID, not the application\'s');
    assert.equal(header('x-app'), 'auth', 'the application\'s own header kept');
    assert.equal(mail.subject, `Reset your password (${method})`);
    assert.equal(mail.text?.trim(), 'Your code is 123456');
    assert.match(raw.from, /^bounce\+/, 'the VERP return path');
    for (const h of mail.headers) assert.ok(!/^x-estafeta-(stream|tag|meta-)/.test(h.key), `${h.key} was removed`);
    assert.ok(header('x-estafeta-log'), 'our own X-Estafeta-Log is there');
    const target = await e.app.db.kysely.selectFrom('delivery_targets').select('data').where('delivery_id', '=', stream.id).orderBy('row_no', 'desc').executeTakeFirstOrThrow();
    assert.deepEqual(JSON.parse(String(target.data)), { tags: ['reset', 'auth'], metadata: { user: '42' } });
  }
});

test('refused: a wrong password (535), no AUTH (530, and a relay attempt), AUTH before STARTTLS (538)', async () => {
  const wrong = await refusal(transport({ user: cred.username, pass: 'ests_wrong' }).sendMail({ from: 'no-reply@app.example', to: 'x@apps.test', subject: 's', text: 't' }));
  assert.equal(wrong.responseCode, 535, wrong.message);
  assert.match(wrong.response ?? '', /5\.7\.8/);
  const unknown = await refusal(transport({ user: 'nobody', pass: cred.password }).sendMail({ from: 'no-reply@app.example', to: 'x@apps.test', subject: 's', text: 't' }));
  assert.equal(unknown.responseCode, 535);
  const noAuth = await refusal(transport(null).sendMail({ from: 'no-reply@app.example', to: 'x@apps.test', subject: 's', text: 't' }));
  assert.equal(noAuth.responseCode, 530, noAuth.message);
  assert.match(noAuth.response ?? '', /5\.7\.0 authentication required/);
  // A relay attempt: a stranger's sender to a stranger's recipient, without AUTH, with or without TLS.
  for (const extra of [{}, { requireTLS: false, ignoreTLS: true }]) {
    const relay = await refusal(transport(null, extra).sendMail({ envelope: { from: 'spammer@elsewhere.example', to: ['victim@gmail.example'] }, raw: 'From: spammer@elsewhere.example\r\nTo: victim@gmail.example\r\nSubject: hi\r\n\r\nbuy\r\n' }));
    assert.equal(relay.responseCode, 530, relay.message);
  }
  const plain = await refusal(transport({ user: cred.username, pass: cred.password }, { requireTLS: false, ignoreTLS: true }).sendMail({ from: 'no-reply@app.example', to: 'x@apps.test', subject: 's', text: 't' }));
  assert.equal(plain.responseCode, 538, plain.message);
  assert.equal(sink.received.filter((m) => m.to.includes('victim@gmail.example') || m.to.includes('x@apps.test')).length, 0);
});

test('refused: a sender domain the stream does not own, too large, too many recipients, a denylisted recipient; an attachment is taken', async () => {
  const t = transport({ user: cred.username, pass: cred.password });
  const envelopeDomain = await refusal(t.sendMail({ from: 'no-reply@other.example', to: 'x@apps.test', subject: 's', text: 't' }));
  assert.equal(envelopeDomain.responseCode, 553, envelopeDomain.message);
  assert.match(envelopeDomain.response ?? '', /5\.7\.1 the stream "app-mail" does not send from other\.example/);
  const headerDomain = await refusal(t.sendMail({ envelope: { from: 'no-reply@app.example', to: ['x@apps.test'] }, from: 'ceo@other.example', to: 'x@apps.test', subject: 's', text: 't' }));
  assert.equal(headerDomain.responseCode, 550, headerDomain.message);
  assert.match(headerDomain.response ?? '', /5\.7\.1 from: the stream "app-mail" does not send from other\.example/);
  const otherStream = await refusal(t.sendMail({ from: 'no-reply@app.example', to: 'x@apps.test', subject: 's', text: 't', headers: { 'X-Estafeta-Stream': 'newsletters' } }));
  assert.equal(otherStream.responseCode, 550);
  const large = await refusal(t.sendMail({ from: 'no-reply@app.example', to: 'x@apps.test', subject: 's', text: 'x'.repeat(300_000) }));
  assert.equal(large.responseCode, 552, large.message);
  assert.match(large.response ?? '', /5\.3\.4/);
  // Past the limit each RCPT is answered 452 4.5.3: the client sends the rest in another message.
  const many = await t.sendMail({ from: 'no-reply@app.example', to: ['a@apps.test', 'b@apps.test', 'c@apps.test', 'd@apps.test'], subject: 's', text: 't' });
  assert.deepEqual(many.accepted, ['a@apps.test', 'b@apps.test', 'c@apps.test']);
  assert.match(String((many as unknown as { rejectedErrors: SendError[] }).rejectedErrors[0].response), /^452 4\.5\.3 too many recipients \(at most 3/);
  // A receipt with its PDF (refusing attachments was a shortcut while the send API had none).
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 256))]);
  const attached = await t.sendMail({ from: 'no-reply@app.example', to: 'receipt@apps.test', subject: 'Receipt', text: 'Attached', attachments: [{ filename: 'receipt.pdf', content: pdf, contentType: 'application/pdf' }] });
  assert.deepEqual(attached.accepted, ['receipt@apps.test']);
  await waitFor('the receipt delivered', async () => received('receipt@apps.test').length === 1, 30_000);
  const receipt = await PostalMime.parse(received('receipt@apps.test')[0].raw);
  assert.equal(receipt.attachments.length, 1);
  assert.equal(receipt.attachments[0].filename, 'receipt.pdf');
  assert.ok(Buffer.from(receipt.attachments[0].content as ArrayBuffer).equals(pdf), 'the PDF intact');

  assert.equal((await e.api('POST', '/quarantine', { address: 'gone@apps.test', status: 'denylisted', reason: 'Denylisted address' })).status, 200);
  const mixed = await t.sendMail({ from: 'no-reply@app.example', to: ['gone@apps.test', 'kept@apps.test'], subject: 'Mixed', text: 't' });
  assert.deepEqual(mixed.accepted, ['kept@apps.test']);
  assert.equal(mixed.rejected.length, 1);
  assert.match(String((mixed as unknown as { rejectedErrors: SendError[] }).rejectedErrors[0].response), /^550 5\.7\.1 <gone@apps\.test>: the address is denylisted/);
  await waitFor('the kept recipient\'s message', async () => received('kept@apps.test').length === 1, 30_000);
  assert.equal(received('gone@apps.test').length, 0);
});

test('swaks submits with STARTTLS and AUTH LOGIN', async () => {
  const args = ['--server', `127.0.0.1:${port}`, '--tls', '--auth', 'LOGIN', '--auth-user', cred.username, '--auth-password', cred.password, '--from', 'alerts@app.example', '--to', 'ops@apps.test', '--header', 'Subject: disk full', '--header', 'X-Estafeta-Tag: alert', '--body', 'The disk is full.', '--timeout', '20'];
  const out = await new Promise<string>((resolve, reject) => execFile('swaks', args, { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout))));
  assert.match(out, /<- +220 [\s\S]*STARTTLS[\s\S]*~> AUTH LOGIN[\s\S]*<~ +235[\s\S]*<~ +250 2\.0\.0 accepted for 1 of 1 recipients/);
  await waitFor('the swaks message received', async () => received('ops@apps.test').length === 1, 30_000);
  const mail = await PostalMime.parse(received('ops@apps.test')[0].raw);
  assert.equal(mail.subject, 'disk full');
  assert.ok(!mail.headers.some((h) => h.key === 'x-estafeta-tag'));
});

test('revoked credentials open nothing', async () => {
  const extra = await e.api('POST', `/streams/${stream.id}/smtp-credentials`);
  assert.equal((await e.api('DELETE', `/streams/${stream.id}/smtp-credentials/${extra.body.id}`)).status, 204);
  assert.equal((await e.api('DELETE', `/streams/${stream.id}/smtp-credentials/${extra.body.id}`)).status, 404);
  const refused = await refusal(transport({ user: extra.body.username, pass: extra.body.password }).sendMail({ from: 'no-reply@app.example', to: 'x@apps.test', subject: 's', text: 't' }));
  assert.equal(refused.responseCode, 535);
});

test('with submission.allowPlainOnLoopback, AUTH without STARTTLS is taken from 127.0.0.1', async () => {
  const local = await startTestEstafeta({ submission: { allowPlainOnLoopback: true } });
  try {
    const s = await local.api('POST', '/streams', { name: 'local-app', fromDomains: ['app.example'] });
    const c = await local.api('POST', `/streams/${s.body.id}/smtp-credentials`);
    const plain = nodemailer.createTransport({ host: '127.0.0.1', port: local.app.submission!.port, secure: false, ignoreTLS: true, auth: { user: c.body.username, pass: c.body.password } });
    const info = await plain.sendMail({ from: 'no-reply@app.example', to: 'x@apps.test', subject: 's', text: 't' });
    assert.match(info.response, /^250 2\.0\.0 accepted for 1 of 1/);
    const wrong = await refusal(nodemailer.createTransport({ host: '127.0.0.1', port: local.app.submission!.port, secure: false, ignoreTLS: true, auth: { user: c.body.username, pass: 'ests_nope' } }).sendMail({ from: 'no-reply@app.example', to: 'x@apps.test', subject: 's', text: 't' }));
    assert.equal(wrong.responseCode, 535);
    // Bounded: the third failed AUTH in a session closes it (421), so passwords cannot be tried in a loop.
    const lines = await rawSession(local.app.submission!.port, ['EHLO app.test', ...Array.from({ length: 3 }, () => `AUTH PLAIN ${Buffer.from(`\0${c.body.username}\0wrong`).toString('base64')}`)]);
    assert.deepEqual(lines.filter((l) => /^(535|421) /.test(l)).map((l) => l.slice(0, 3)), ['535', '535', '535', '421']);
  } finally {
    await local.stop();
  }
});

/** Sends each command after the previous reply's last line; resolves with every line once the server closes. */
function rawSession(port: number, commands: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    const socket = connect(port, '127.0.0.1');
    let buffer = '';
    const queue = [...commands];
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no close after: ${lines.join(' | ')}`)));
    socket.on('data', (d) => {
      buffer += d.toString('latin1');
      let i;
      while ((i = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        lines.push(line);
        if (/^\d{3} /.test(line) && queue.length) socket.write(`${queue.shift()}\r\n`);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(lines));
  });
}
