/**
 * Asynchronous feedback through real SMTP into the bounce listener: a DSN after Sent turns
 * the log Failed and quarantines the address; an ARF complaint keeps Sent, records the
 * complaint and denylists; an auto-reply changes nothing; forged or foreign addresses are
 * refused (not an open relay); oversized mail is refused; unknown failure texts are kept
 * "to qualify" and an operator's re-qualification applies to the next ones.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import NodemailerConnection from 'nodemailer/lib/smtp-connection';
import { startSimDns, type SimDns } from '../src/sim/dns-server.ts';
import { verpAddress } from '../src/mail/verp.ts';
import { QuarantineStatus } from '../src/quarantine/index.ts';
import { freePort, startSink, type Sink } from './helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor, type TestEstafeta } from './helpers/estafeta.ts';
import { arfMail, dsnMail } from './helpers/report-mails.ts';

type Conn = { connect(cb: (e?: Error) => void): void; send(env: object, msg: string, cb: (e: (Error & { response?: string }) | null, info?: unknown) => void): void; quit(): void; on(e: string, f: () => void): void };
const SMTPConnection = NodemailerConnection as unknown as new (o: object) => Conn;

let dns: SimDns;
let sink: Sink;
let e: TestEstafeta;
let deliveryId: number;
const logs = new Map<string, number>();
const BOUNCE_DOMAIN = 'bounces.shop.test';

before(async () => {
  const ip = '127.0.3.21';
  const port = await freePort([ip]);
  dns = await startSimDns({ port: 0, records: [{ name: 'inbox.test', type: 'MX', exchange: 'mx.inbox.test', priority: 5 }, { name: 'mx.inbox.test', type: 'A', address: ip }] });
  sink = await startSink(ip, port);
  e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port }, bounces: { domain: BOUNCE_DOMAIN, maxSizeBytes: 200_000 } });
  const recipients = ['hard', 'complainer', 'away', 'mystery', 'mystery2', 'dup'].map((n) => ({ email: `${n}@inbox.test`, first: n }));
  const created = await e.api('POST', '/deliveries', { from: { address: 'news@shop.test' }, subject: 'Hi {{ first }}', text: 'Hi {{ first }}. Unsubscribe: {{ unsubscribeUrl }}', recipients });
  deliveryId = created.body.id;
  await e.api('POST', `/deliveries/${deliveryId}/analyze`);
  await e.api('POST', `/deliveries/${deliveryId}/confirm`);
  await waitFor('all sent', async () => (await e.api('GET', `/deliveries/${deliveryId}`)).body.kpis.sent === 6);
  for (const l of (await e.api('GET', `/deliveries/${deliveryId}/logs`)).body.logs) logs.set(l.address.split('@')[0], l.id);
});

after(async () => {
  await e.stop();
  await sink.stop();
  await dns.stop();
});

/** Sends one message to the bounce listener; resolves with the server's answer. */
function deliver(to: string, raw: string, from = ''): Promise<{ ok: boolean; response: string }> {
  const listener = e.app.inbound!;
  const conn = new SMTPConnection({ host: listener.host, port: listener.port, ignoreTLS: true, name: 'mx.inbox.test' });
  conn.on('error', () => {});
  return new Promise((resolve) => {
    conn.connect((err) => {
      if (err) return resolve({ ok: false, response: err.message });
      conn.send({ from, to: [to] }, raw, (err2, info) => {
        conn.quit();
        resolve(err2 ? { ok: false, response: err2.response ?? err2.message } : { ok: true, response: String((info as { response: string }).response) });
      });
    });
  });
}

const verp = (name: string) => verpAddress(e.app.secret, logs.get(name)!, BOUNCE_DOMAIN);
const log = async (name: string) => (await e.api('GET', `/logs/${logs.get(name)}`)).body;

const dsn = (rcpt: string, status: string, diagnostic: string) => dsnMail({ to: rcpt, rcpt, status, diagnostic });

test('a DSN after Sent makes the log Failed with its reason and quarantines the address', async () => {
  const r = await deliver(verp('hard'), dsn('hard@inbox.test', '5.1.1', '550 5.1.1 <hard@inbox.test>: Recipient address rejected: User unknown'));
  assert.ok(r.ok, r.response);
  const l = await waitFor('the log to fail', async () => ((await log('hard')).status === 'failed' ? log('hard') : null));
  assert.equal(l.failureType, 'Hard');
  assert.equal(l.failureReason, 'User unknown');
  assert.deepEqual(l.history.map((h: { type: string }) => h.type), ['delivered', 'bounced-async']);
  const q = await e.api('GET', '/quarantine/entry?address=hard@inbox.test');
  assert.equal(q.body.status, 'quarantine');
  const k = (await e.api('GET', `/deliveries/${deliveryId}/kpis`)).body;
  assert.equal(k.sent, 5);
  assert.equal(k.failed, 1);
});

test('an ARF complaint keeps Sent, records the complaint and denylists the address', async () => {
  // Sent to a role mailbox, not the VERP address: correlated by the signed header.
  const token = verp('complainer').slice('bounce+'.length, verp('complainer').indexOf('@'));
  const arf = arfMail({ to: `fbl@${BOUNCE_DOMAIN}`, rcpt: 'complainer@inbox.test', original: { From: 'news@shop.test', To: 'complainer@inbox.test', Subject: 'Hi complainer', 'X-Estafeta-Log': token } });
  assert.ok((await deliver(`fbl@${BOUNCE_DOMAIN}`, arf)).ok);
  const l = await waitFor('the complaint', async () => ((await log('complainer')).complainedAt ? log('complainer') : null));
  assert.equal(l.status, 'sent', 'Campaign flips to Failed; Estafeta shows both facts');
  const q = await e.api('GET', '/quarantine/entry?address=complainer@inbox.test');
  assert.equal(q.body.status, 'denylisted');
  assert.equal((await e.api('GET', `/deliveries/${deliveryId}/kpis`)).body.complaints, 1);
});

test('an auto-reply is recorded and changes neither the log nor the quarantine', async () => {
  const reply = ['From: away@inbox.test', 'To: ' + verp('away'), 'Subject: Out of office: Hi away', 'Auto-Submitted: auto-replied', '', 'I am away until Monday.', ''].join('\r\n');
  assert.ok((await deliver(verp('away'), reply)).ok);
  const l = await waitFor('the auto-reply in the history', async () => ((await log('away')).history.some((h: { type: string }) => h.type === 'auto-replied') ? log('away') : null));
  assert.equal(l.status, 'sent');
  assert.equal((await e.api('GET', '/quarantine/entry?address=away@inbox.test')).status, 404);
});

test('the listener is not an open relay and refuses forged tokens and oversized mail', async () => {
  const relay = await deliver('someone@elsewhere.test', 'Subject: x\r\n\r\nx\r\n');
  assert.equal(relay.ok, false);
  assert.match(relay.response, /^550 5\.1\.1 .*no such mailbox here/);
  const forged = verp('hard').replace(/-[0-9a-z]{10}@/, '-aaaaaaaaaa@');
  assert.match((await deliver(forged, 'Subject: x\r\n\r\nx\r\n')).response, /^550/);
  const big = 'Subject: big\r\n\r\n' + ('x'.repeat(998) + '\r\n').repeat(300);
  const tooBig = await deliver(verp('hard'), big);
  assert.equal(tooBig.ok, false);
  assert.match(tooBig.response, /^552/);
});

test('a failure text no rule knows is kept to qualify; re-qualifying it applies to the next ones', async () => {
  const text = '550 the frobnicator said no to <mystery@inbox.test> ticket 881234';
  assert.ok((await deliver(verp('mystery'), dsn('mystery@inbox.test', '5.0.0', text))).ok);
  await waitFor('the mail to be processed', async () => ((await log('mystery')).status === 'failed' ? true : null));
  const mails = (await e.api('GET', '/bounces/inbound?status=to-qualify')).body.mails;
  assert.equal(mails.length, 1);
  const entries = (await e.api('GET', '/bounces/qualifications?status=to-qualify')).body.entries;
  const entry = entries.find((x: { firstText: string }) => x.firstText.includes('frobnicator'));
  assert.ok(entry, JSON.stringify(entries));
  assert.ok(!entry.key.includes('mystery@'), 'the address is normalized out of the key');
  assert.equal((await log('mystery')).failureReason, 'Not defined');

  const requalified = await e.api('POST', '/bounces/qualifications/requalify', { key: entry.key, failureType: 'Hard', failureReason: 'User unknown' });
  assert.equal(requalified.status, 200, JSON.stringify(requalified.body));
  assert.equal(requalified.body.status, 'keep');
  await new Promise((r) => setTimeout(r, 100));
  assert.ok((await deliver(verp('mystery2'), dsn('mystery2@inbox.test', '5.0.0', '550 the frobnicator said no to <mystery2@inbox.test> ticket 99'))).ok);
  const l = await waitFor('the second mail', async () => ((await log('mystery2')).status === 'failed' ? log('mystery2') : null));
  assert.equal(l.failureReason, 'User unknown');
  assert.equal(l.failureType, 'Hard');
  const after2 = (await e.api('GET', '/bounces/qualifications')).body.entries.find((x: { key: string }) => x.key === entry.key);
  assert.equal(after2.occurrences, 2);
});

test('the same bounce received twice changes nothing the second time', async () => {
  const raw = dsn('dup@inbox.test', '5.2.2', '552 5.2.2 mailbox full');
  assert.ok((await deliver(verp('dup'), raw)).ok);
  await waitFor('first', async () => ((await log('dup')).status === 'failed' ? true : null));
  const kpis1 = (await e.api('GET', `/deliveries/${deliveryId}/kpis`)).body;
  const q1 = (await e.api('GET', '/quarantine/entry?address=dup@inbox.test')).body;
  assert.ok((await deliver(verp('dup'), raw)).ok);
  await waitFor('second processed', async () => ((await e.api('GET', '/bounces/inbound')).body.mails.filter((m: { logId: number; status: string }) => m.logId === logs.get('dup') && m.status !== 'received').length === 2 ? true : null));
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual((await e.api('GET', `/deliveries/${deliveryId}/kpis`)).body, kpis1);
  const q2 = (await e.api('GET', '/quarantine/entry?address=dup@inbox.test')).body;
  assert.equal(q2.errorCount, q1.errorCount, 'counted once');
  assert.equal(q2.status, 'with-errors');
  assert.equal(QuarantineStatus.WithErrors, 1);
});
