/**
 * Finding 3 of the security review: `PATCH /deliveries/:id` with a header name holding
 * "\r\nBcc: ..." put a Bcc line into the sent mail, because only creation checked header
 * names. Deliveries are sent for real (API, sender, MTA, SMTP to an smtp-server MX) and the
 * received mail is parsed: no Bcc, no injected line, the legitimate extra header intact.
 * Also: creation and update give the same clear errors, and a row stored with such headers
 * before the fix is sent without them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import PostalMime from 'postal-mime';
import { startSimDns, type SimDns } from '../../src/sim/dns-server.ts';
import { freePort, startSink, type Sink } from '../helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor, type TestEstafeta } from '../helpers/estafeta.ts';

const MX = '127.0.7.31';
let dns: SimDns;
let sink: Sink;
let e: TestEstafeta;

before(async () => {
  const port = await freePort([MX]);
  dns = await startSimDns({ port: 0, records: [{ name: 'hdr.test', type: 'MX', exchange: 'mx.hdr.test', priority: 10 }, { name: 'mx.hdr.test', type: 'A', address: MX }] });
  sink = await startSink(MX, port);
  e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port } });
});
after(async () => {
  await e.stop();
  await sink.stop();
  await dns.stop();
});

const INJECTION = { 'X-A: b\r\nBcc: x@evil.test\r\nX-C': 'v' };
const content = {
  from: { name: 'Shop', address: 'news@shop.example' },
  subject: 'Hello {{ firstName }}',
  html: '<p>Hello {{ firstName }}</p><a href="{{ unsubscribeUrl }}">Unsubscribe</a>',
  text: 'Hello {{ firstName }}\nUnsubscribe: {{ unsubscribeUrl }}',
  validity: '1h',
  headers: { 'X-Campaign': 'spring' },
};

async function create(rcpt: string): Promise<number> {
  const r = await e.api('POST', '/deliveries', { ...content, recipients: [{ email: rcpt, firstName: 'Ana' }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

async function sendAndReceive(id: number, rcpt: string, analyze = true) {
  if (analyze) {
    const analysis = await e.api('POST', `/deliveries/${id}/analyze`);
    assert.equal(analysis.status, 200, JSON.stringify(analysis.body));
    assert.equal(analysis.body.errors, 0, JSON.stringify(analysis.body.lines));
  }
  const confirmed = await e.api('POST', `/deliveries/${id}/confirm`);
  assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
  const mail = await waitFor(`the message to ${rcpt}`, async () => sink.received.find((m) => m.to.includes(rcpt)), 30_000);
  const raw = mail.raw.toString('latin1');
  const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
  return { head, parsed: await PostalMime.parse(mail.raw) };
}

function assertNoInjection(head: string, parsed: Awaited<ReturnType<typeof PostalMime.parse>>) {
  assert.ok(!/^bcc:/im.test(head), `no Bcc line in the sent header:\n${head}`);
  assert.ok(!parsed.headers.some((h) => h.key === 'bcc' || h.key === 'x-c'), 'no Bcc or X-C header when parsed');
  assert.equal(parsed.bcc, undefined);
  assert.equal(parsed.headers.find((h) => h.key === 'x-campaign')?.value, 'spring', 'the legitimate extra header is kept');
}

test('an update cannot inject a header line: the sent mail has no Bcc, and the update is refused naming the header', { timeout: 60_000 }, async () => {
  const rcpt = 'patched@hdr.test';
  const id = await create(rcpt);
  const patched = await e.api('PATCH', `/deliveries/${id}`, { headers: INJECTION });
  // Send whatever the update left, so the mail itself shows whether the injection got through.
  const { head, parsed } = await sendAndReceive(id, rcpt);
  assertNoInjection(head, parsed);
  assert.equal(patched.status, 400, JSON.stringify(patched.body));
  assert.equal(patched.body.error.code, 'INVALID_INPUT');
  assert.match(patched.body.error.message, /the header name "X-A: b\\r\\nBcc: x@evil\.test\\r\\nX-C" has characters a header name cannot have/);
});

test('creation and update give the same errors for names, values, reserved headers and count', async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [INJECTION, /header name "X-A: b\\r\\nBcc.*cannot have/],
    [{ 'X-A': 'b\r\nBcc: x@evil.test' }, /the value of "X-A" has a line break or another control character/],
    [{ 'X-A': 'b\nBcc: x@evil.test' }, /the value of "X-A" has a line break/],
    [{ 'X-A': 'nul\u0000' }, /the value of "X-A" has a line break or another control character/],
    [{ 'X A': 'v' }, /header name "X A" has characters/],
    [{ '': 'v' }, /a header name cannot be empty/],
    [{ ['X-' + 'a'.repeat(80)]: 'v' }, /is longer than 76 characters/],
    [{ 'X-A': 'v'.repeat(901) }, /the value of "X-A" is longer than 900 characters/],
    [{ Bcc: 'x@evil.test' }, /the header "Bcc" cannot be set as an extra header: it would change who receives the message/],
    [{ cc: 'x@evil.test' }, /the header "cc" cannot be set/],
    [{ 'Content-Type': 'text/html' }, /the header "Content-Type" cannot be set as an extra header: it would change the structure/],
    [{ 'MIME-Version': '1.0' }, /"MIME-Version" cannot be set/],
    [{ 'Message-ID': '<x@y>' }, /"Message-ID" cannot be set as an extra header: Estafeta sets it/],
    [{ 'DKIM-Signature': 'v=1' }, /"DKIM-Signature" cannot be set/],
    [{ 'List-Unsubscribe': '<https://x>' }, /"List-Unsubscribe" cannot be set as an extra header: Estafeta sets it from the delivery's unsubscribeUrl field/],
    [{ 'X-Estafeta-Log': 't' }, /"X-Estafeta-Log" cannot be set as an extra header: Estafeta uses it/],
    [{ From: 'a@b.test' }, /"From" cannot be set as an extra header: Estafeta sets it from the delivery's from field/],
    [{ 'Resent-To': 'a@b.test' }, /"Resent-To" cannot be set/],
    [{ 'X-A': '1', 'x-a': '2' }, /"x-a" is given twice/],
    [Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`X-H${i}`, 'v'])), /at most 30 extra headers \(31 given\)/],
  ];
  const id = await create('errors@hdr.test');
  for (const [headers, message] of cases) {
    const created = await e.api('POST', '/deliveries', { ...content, headers });
    assert.equal(created.status, 400, `create ${JSON.stringify(headers).slice(0, 80)}`);
    assert.match(created.body.error.message, message);
    const patched = await e.api('PATCH', `/deliveries/${id}`, { headers });
    assert.equal(patched.status, 400, `update ${JSON.stringify(headers).slice(0, 80)}`);
    assert.match(patched.body.error.message, message);
    assert.equal(patched.body.error.message, created.body.error.message, 'one rule, one message');
  }
  // Tab is the one control character a value may hold; non-ASCII is encoded when sent.
  const ok = await e.api('PATCH', `/deliveries/${id}`, { headers: { 'X-Campaign': 'spring\tsale', 'X-Season': 'otoño' } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.deepEqual(ok.body.headers, { 'X-Campaign': 'spring\tsale', 'X-Season': 'otoño' });
  // Line breaks in the reply-to or sender address are refused too (the address checks drop them).
  const replyTo = await e.api('PATCH', `/deliveries/${id}`, { replyTo: 'care@shop.example\r\nBcc: x@evil.test' });
  assert.equal(replyTo.status, 400);
  const splitDomain = await e.api('POST', '/deliveries', { ...content, replyTo: 'care@shop\r\n.example' });
  assert.equal(splitDomain.status, 400);
  assert.match(splitDomain.body.error.message, /an address cannot hold line breaks/);
});

test('a delivery stored with such headers before the fix fails its analysis, and one already confirmed is sent without them', { timeout: 60_000 }, async () => {
  const stored = JSON.stringify({ ...INJECTION, Bcc: 'y@evil.test', 'X-B': 'b\r\nCc: z@evil.test', 'X-Campaign': 'spring' });
  const analyzed = await create('stored-analysis@hdr.test');
  await e.app.db.kysely.updateTable('deliveries').set({ headers: stored }).where('id', '=', analyzed).execute();
  const report = await e.api('POST', `/deliveries/${analyzed}/analyze`);
  const refused = report.body.lines.filter((l: { code: string }) => l.code === 'header-refused');
  assert.equal(refused.length, 3, JSON.stringify(report.body.lines));
  assert.ok(refused.every((l: { level: string }) => l.level === 'error'));
  assert.equal((await e.api('POST', `/deliveries/${analyzed}/confirm`)).status, 409);

  // Analyzed while its headers were clean, then changed in the database behind the API's back.
  const rcpt = 'stored@hdr.test';
  const id = await create(rcpt);
  const analysis = await e.api('POST', `/deliveries/${id}/analyze`);
  assert.equal(analysis.body.errors, 0, JSON.stringify(analysis.body.lines));
  await e.app.db.kysely.updateTable('deliveries').set({ headers: stored }).where('id', '=', id).execute();
  const { head, parsed } = await sendAndReceive(id, rcpt, false);
  assertNoInjection(head, parsed);
  assert.ok(!/^cc:/im.test(head) && !/^x-b:/im.test(head), `the other stored headers are left out:\n${head}`);
});
