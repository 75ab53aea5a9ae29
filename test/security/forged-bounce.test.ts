/**
 * Issue 11, finding 7: a Message-ID was enough to fail a recipient. Replayed against a real
 * Estafeta with a real SMTP client playing the attacker (or a remote MTA) at the bounce
 * listener: a DSN to postmaster carrying another log's Message-ID (which any viewer reads in
 * GET /logs/:id) changes nothing; altered delivery ids and domains are refused; the older
 * Message-ID format, late bounces, complaints and forwarded copies named by Message-ID or
 * X-Estafeta-Log alone are kept "unmatched" with the reason; a VERP bounce still fails and
 * quarantines; a Message-ID bounce whose Final-Recipient matches fails the log as Soft
 * without quarantining.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimDns, type SimDns } from '../../src/sim/dns-server.ts';
import { logToken, verpAddress } from '../../src/mail/verp.ts';
import { shortHmac } from '../../src/lib/ids.ts';
import { createApiKey } from '../../src/auth/index.ts';
import { freePort, startSink, type Sink } from '../helpers/smtp-sink.ts';
import { smtpSend } from '../helpers/smtp-client.ts';
import { startTestEstafeta, waitFor, type TestEstafeta } from '../helpers/estafeta.ts';
import { arfMail, dsnMail } from '../helpers/report-mails.ts';

const BOUNCE_DOMAIN = 'bounces.shop.test';
const NAMES = ['victim', 'bound', 'verp', 'match', 'legacy', 'late', 'complained', 'forwarded', 'redacted'];
let dns: SimDns;
let sink: Sink;
let e: TestEstafeta;
let deliveryId: number;
let viewer: ReturnType<TestEstafeta['as']>;
const logs = new Map<string, number>();

before(async () => {
  const ip = '127.0.3.31';
  const port = await freePort([ip]);
  dns = await startSimDns({ port: 0, records: [{ name: 'inbox.test', type: 'MX', exchange: 'mx.inbox.test', priority: 5 }, { name: 'mx.inbox.test', type: 'A', address: ip }] });
  sink = await startSink(ip, port);
  e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port }, bounces: { domain: BOUNCE_DOMAIN } });
  viewer = e.as((await createApiKey(e.app.db.kysely, { name: 'viewer', role: 'viewer', createdBy: 'test' })).key);
  const created = await e.api('POST', '/deliveries', { from: { address: 'news@shop.test' }, subject: 'Hi', text: 'Hi {{ email }}', recipients: NAMES.map((n) => ({ email: `${n}@inbox.test` })) });
  deliveryId = created.body.id;
  await e.api('POST', `/deliveries/${deliveryId}/analyze`);
  await e.api('POST', `/deliveries/${deliveryId}/confirm`);
  await waitFor('all sent', async () => (await e.api('GET', `/deliveries/${deliveryId}`)).body.kpis.sent === NAMES.length);
  for (const l of (await e.api('GET', `/deliveries/${deliveryId}/logs`)).body.logs) logs.set(l.address.split('@')[0], l.id);
});

after(async () => {
  await e?.stop();
  await sink?.stop();
  await dns?.stop();
});

const send = (to: string, raw: string) => smtpSend(e.app.inbound!.host, e.app.inbound!.port, { from: '', to: [to] }, raw);
const log = async (name: string) => (await e.api('GET', `/logs/${logs.get(name)}`)).body;
const quarantine = async (name: string) => e.api('GET', `/quarantine/entry?address=${name}@inbox.test`);
/** What any viewer reads: the Message-ID of a log's message. */
const messageIdOf = async (name: string): Promise<string> => (await viewer('GET', `/logs/${logs.get(name)}`)).body.messageId;

/** A DSN as an MTA writes it, with the returned message's headers (its Message-ID, maybe X-Estafeta-Log). */
const dsn = (subject: string, finalRecipient: string, original: Record<string, string>) =>
  dsnMail({ to: `postmaster@${BOUNCE_DOMAIN}`, subject, rcpt: finalRecipient, text: 'Your message could not be delivered.', original: { From: 'news@shop.test', ...original } });

const arf = (subject: string, rcpt: string, original: Record<string, string>) => arfMail({ to: `fbl@${BOUNCE_DOMAIN}`, subject, rcpt, original: { From: 'news@shop.test', ...original } });

/** The stored inbound mail with this subject, once processed. */
type Inbound = { status: string; logId: number | null; detail: { correlatedBy: string | null; notCorrelated?: { logId: number; by: string; reason: string }; evidence?: string; qualification?: { failureType: string } } };
const processed = (subject: string): Promise<Inbound> =>
  waitFor(`inbound mail "${subject}" processed`, async () => {
    const mail = (await e.api('GET', '/bounces/inbound?limit=500')).body.mails.find((m: Inbound & { detail: { subject: string } | null }) => m.detail?.subject === subject);
    return mail ?? null;
  }, 20_000, 100);

async function assertUntouched(name: string): Promise<void> {
  // Whatever the mail caused has been applied before looking (the feedback service runs apart).
  await waitFor('every event applied', async () => (await e.app.db.kysely.selectFrom('events').select('id').where('applied_at', 'is', null).execute()).length === 0, 20_000, 50);
  const l = await log(name);
  assert.equal(l.status, 'sent');
  assert.equal(l.failureType, null, JSON.stringify(l));
  assert.equal(l.complainedAt, null);
  assert.deepEqual(l.history.map((h: { type: string }) => h.type), ['delivered']);
  assert.equal((await quarantine(name)).status, 404, `no quarantine entry for ${name}`);
}

test("(a) the finding replayed: a DSN to postmaster with a viewer-read Message-ID and someone else's Final-Recipient changes nothing", async () => {
  const r = await send(`postmaster@${BOUNCE_DOMAIN}`, dsn('replayed finding', 'somebody@elsewhere.test', { 'Message-ID': await messageIdOf('victim'), To: 'somebody@elsewhere.test' }));
  assert.ok(r.ok, r.response);
  const mail = await processed('replayed finding');
  assert.equal(mail.status, 'unmatched');
  assert.equal(mail.logId, null);
  assert.equal(mail.detail.correlatedBy, null);
  assert.equal(mail.detail.notCorrelated?.logId, logs.get('victim'));
  assert.match(mail.detail.notCorrelated!.reason, /Message-ID alone .*somebody@elsewhere\.test/);
  await assertUntouched('victim');
});

test('(b) a Message-ID with another delivery id, domain or log id is refused, even with the right Final-Recipient', async () => {
  const mid = await messageIdOf('bound');
  const altered = {
    'other delivery': mid.replace(/^<\d+\./, `<${deliveryId + 1}.`),
    'other domain': mid.replace('@shop.test>', '@evil.test>'),
    'other log': mid.replace(`.${logs.get('bound')!.toString(36)}.`, `.${logs.get('victim')!.toString(36)}.`),
  };
  for (const [what, forged] of Object.entries(altered)) {
    assert.notEqual(forged, mid, what);
    assert.ok((await send(`postmaster@${BOUNCE_DOMAIN}`, dsn(`altered: ${what}`, 'bound@inbox.test', { 'Message-ID': forged, To: 'bound@inbox.test' }))).ok);
    const mail = await processed(`altered: ${what}`);
    assert.equal(mail.status, 'unmatched', what);
    assert.equal(mail.logId, null, what);
    assert.equal(mail.detail.correlatedBy, null, what);
    // Nor does the lookup by Message-ID find a log for it.
    assert.equal((await viewer('GET', `/logs/by-message-id?messageId=${encodeURIComponent(forged)}`)).status, 404, what);
  }
  await assertUntouched('bound');
  await assertUntouched('victim');
});

test('(c) a genuine DSN to the VERP return path still fails the log Hard and quarantines the address', async () => {
  const to = verpAddress(e.app.secret, logs.get('verp')!, BOUNCE_DOMAIN);
  assert.ok((await send(to, dsn('genuine verp', 'verp@inbox.test', { 'Message-ID': await messageIdOf('verp'), To: 'verp@inbox.test' }))).ok);
  const mail = await processed('genuine verp');
  assert.equal(mail.status, 'processed');
  assert.equal(mail.detail.correlatedBy, 'verp');
  const l = await waitFor('the log to fail', async () => ((await log('verp')).status === 'failed' ? log('verp') : null));
  assert.equal(l.failureType, 'Hard');
  assert.equal(l.failureReason, 'User unknown');
  assert.equal((await quarantine('verp')).body.status, 'quarantine');
});

test('(d) a Message-ID DSN whose Final-Recipient matches fails the log as Soft and does not count towards the quarantine', async () => {
  assert.ok((await send(`postmaster@${BOUNCE_DOMAIN}`, dsn('matching recipient', 'match@inbox.test', { 'Message-ID': await messageIdOf('match'), To: 'match@inbox.test' }))).ok);
  const mail = await processed('matching recipient');
  assert.equal(mail.status, 'processed');
  assert.equal(mail.detail.correlatedBy, 'message-id');
  assert.match(mail.detail.evidence!, /Message-ID alone: counted as Soft/);
  const l = await waitFor('the log to fail', async () => ((await log('match')).status === 'failed' ? log('match') : null));
  assert.equal(l.failureType, 'Soft');
  assert.equal(l.failureReason, 'User unknown');
  // Forged ones repeated day after day would otherwise add up to a quarantine.
  assert.equal((await quarantine('match')).status, 404, 'no quarantine entry');
  // The lookup by Message-ID keeps working for genuine ones.
  const found = await viewer('GET', `/logs/by-message-id?messageId=${encodeURIComponent(await messageIdOf('match'))}`);
  assert.equal(found.status, 200);
  assert.equal(found.body.id, logs.get('match'));
});

test('(e) a Message-ID of the older format is kept as evidence, not applied; the lookup still finds it', async () => {
  const id = logs.get('legacy')!;
  const old = `<${deliveryId}.${id.toString(36)}.${shortHmac(e.app.secret, `mid:${id}`, 8)}@shop.test>`;
  assert.ok((await send(`postmaster@${BOUNCE_DOMAIN}`, dsn('older format', 'legacy@inbox.test', { 'Message-ID': old, To: 'legacy@inbox.test' }))).ok);
  const mail = await processed('older format');
  assert.equal(mail.status, 'unmatched');
  assert.equal(mail.detail.notCorrelated?.logId, id);
  assert.match(mail.detail.notCorrelated!.reason, /older format/);
  await assertUntouched('legacy');
  assert.equal((await viewer('GET', `/logs/by-message-id?messageId=${encodeURIComponent(old)}`)).body.id, id);
  // Its delivery id was never signed: an altered one is checked against the log.
  assert.equal((await viewer('GET', `/logs/by-message-id?messageId=${encodeURIComponent(old.replace(/^<\d+\./, `<${deliveryId + 1}.`))}`)).status, 404);
});

test('(f) a complaint named by Message-ID alone never denylists; a forwarded copy named by X-Estafeta-Log is not its recipient', async () => {
  assert.ok((await send(`fbl@${BOUNCE_DOMAIN}`, arf('complaint by message-id', 'complained@inbox.test', { 'Message-ID': await messageIdOf('complained'), To: 'complained@inbox.test' }))).ok);
  const byMid = await processed('complaint by message-id');
  assert.equal(byMid.status, 'unmatched');
  assert.match(byMid.detail.notCorrelated!.reason, /would denylist/);
  await assertUntouched('complained');

  const token = logToken(e.app.secret, logs.get('forwarded')!);
  assert.ok((await send(`fbl@${BOUNCE_DOMAIN}`, arf('forwarded copy', 'friend@elsewhere.test', { 'X-Estafeta-Log': token, To: 'friend@elsewhere.test' }))).ok);
  const forwarded = await processed('forwarded copy');
  assert.equal(forwarded.status, 'unmatched');
  assert.match(forwarded.detail.notCorrelated!.reason, /X-Estafeta-Log .*friend@elsewhere\.test/);
  await assertUntouched('forwarded');

  // A feedback loop that redacts the address does not contradict the token.
  const redactedToken = logToken(e.app.secret, logs.get('redacted')!);
  assert.ok((await send(`fbl@${BOUNCE_DOMAIN}`, arf('redacted copy', 'redacted@inbox.test', { 'X-Estafeta-Log': redactedToken, To: 'redacted@inbox.test' }))).ok);
  assert.equal((await processed('redacted copy')).detail.correlatedBy, 'x-estafeta-log');
  await waitFor('the complaint', async () => (await log('redacted')).complainedAt !== null);
  assert.equal((await quarantine('redacted')).body.status, 'denylisted');
});

test("(g) a Message-ID bounce long after the delivery's validity (plus 7 days) is not applied", async () => {
  const db = e.app.db.kysely;
  const before = await db.selectFrom('deliveries').select('valid_until').where('id', '=', deliveryId).executeTakeFirstOrThrow();
  await db.updateTable('deliveries').set({ valid_until: Date.now() - 8 * 86_400_000 }).where('id', '=', deliveryId).execute();
  try {
    assert.ok((await send(`postmaster@${BOUNCE_DOMAIN}`, dsn('too late', 'late@inbox.test', { 'Message-ID': await messageIdOf('late'), To: 'late@inbox.test' }))).ok);
    const mail = await processed('too late');
    assert.equal(mail.status, 'unmatched');
    assert.match(mail.detail.notCorrelated!.reason, /after the delivery's validity ended/);
  } finally {
    await db.updateTable('deliveries').set({ valid_until: before.valid_until }).where('id', '=', deliveryId).execute();
  }
  await assertUntouched('late');
});
