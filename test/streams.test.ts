/**
 * Message streams and the send API, end to end: a stream created through the API, single
 * and batch messages sent through POST /messages, delivered by the MTA to an smtp-server
 * sink through loopback DNS, DKIM-signed by the sender domain's key (checked with mailauth)
 * and carrying our Message-ID, VERP return path and X-Estafeta-Log; their logs turn Sent and
 * the stream's KPIs count them; an Idempotency-Key sent twice sends once; a batch with a bad
 * message sends the others; a denylisted recipient is refused by a stream that applies the
 * quarantine and sent by one that does not; a paused stream refuses messages; a webhook
 * endpoint for the stream sees the delivered events; a tracked stream's links redirect to
 * their own URLs and the click reaches the stream's KPIs and webhook; a 550 at the MX is qualified and
 * quarantines as for a delivery; a header Estafeta sets itself is refused; a viewer cannot send.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import PostalMime from 'postal-mime';
import { startSimDns, type SimDns } from '../src/sim/dns-server.ts';
import { freePort, startSink, type Sink } from './helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor, type TestEstafeta } from './helpers/estafeta.ts';
import { verifyWithMailauth, type TxtRecords } from './helpers/dkim-verifiers.ts';

const MX = '127.0.3.57';

let dns: SimDns;
let sink: Sink;
let e: TestEstafeta;
let records: TxtRecords;
let stream: { id: number; name: string };
let openStream: { id: number };
const hooked: { type: string; url?: string | null; logId: number | null; deliveryId: number | null; messageId: string | null; stream: { id: number; name: string } | null; tags: string[] | null; metadata: Record<string, unknown> | null }[] = [];
let hookServer: Server;

before(async () => {
  const port = await freePort([MX]);
  dns = await startSimDns({ port: 0, records: [{ name: 'apps.test', type: 'MX', exchange: 'mx.apps.test', priority: 10 }, { name: 'mx.apps.test', type: 'A', address: MX }] });
  sink = await startSink(MX, port, (rcpt) => (rcpt.startsWith('unknown') ? { code: 550, text: '5.1.1 <' + rcpt + '>: Recipient address rejected: User unknown' } : null));
  e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port } });
  const key = await e.api('POST', '/dkim/keys', { domain: 'app.example', selector: 's2026' });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  records = { [key.body.dns.name]: key.body.dns.value };
  hookServer = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const parsed = JSON.parse(body);
      for (const ev of Array.isArray(parsed.events) ? parsed.events : [parsed]) hooked.push(ev);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
});

after(async () => {
  await e?.stop();
  await sink?.stop();
  await dns?.stop();
  await new Promise((r) => hookServer?.close(r));
});

const received = (to: string) => sink.received.filter((m) => m.to.includes(to));
const logOf = async (id: number) => (await e.api('GET', `/logs/${id}`)).body;

test('a stream is created In progress, listed apart from deliveries, and a webhook can follow it', async () => {
  const bad = await e.api('POST', '/streams', { name: 'x', fromDomains: ['not a domain'] });
  assert.equal(bad.status, 400);
  const created = await e.api('POST', '/streams', { name: 'password-resets', fromDomains: ['App.example'], applyQuarantine: true, listUnsubscribe: false, validity: '1h' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.state, 'in-progress');
  assert.deepEqual(created.body.fromDomains, ['app.example']);
  assert.equal(created.body.validitySeconds, 3600);
  stream = created.body;
  assert.equal((await e.api('POST', '/streams', { name: 'password-resets', fromDomains: ['app.example'] })).status, 400, 'names are unique');
  const open = await e.api('POST', '/streams', { name: 'receipts', fromDomains: ['app.example'], applyQuarantine: false, listUnsubscribe: true, tracking: false });
  assert.equal(open.status, 201);
  openStream = open.body;
  assert.deepEqual((await e.api('GET', '/streams')).body.streams.map((s: { name: string }) => s.name), ['password-resets', 'receipts']);
  assert.ok(!(await e.api('GET', '/deliveries')).body.deliveries.some((d: { id: number }) => d.id === stream.id), 'the deliveries list leaves streams out');
  assert.equal((await e.api('POST', `/deliveries/${stream.id}/stop`)).status, 409, 'a stream is not stopped');
  const hook = await e.api('POST', '/webhooks', { url: `http://127.0.0.1:${(hookServer.address() as { port: number }).port}/hook`, eventTypes: ['delivered'], deliveryId: stream.id });
  assert.equal(hook.status, 201, JSON.stringify(hook.body));
});

test('one message to two recipients: two logs, two signed messages with our headers, Sent, counted, and webhooks told', async () => {
  const sent = await e.api('POST', '/messages', {
    stream: 'password-resets',
    from: { name: 'App', address: 'no-reply@app.example' },
    to: ['ana@apps.test'],
    bcc: ['audit@apps.test'],
    replyTo: 'help@app.example',
    subject: 'Reset your password',
    text: 'Your code is 123456',
    html: '<p>Your code is <b>123456</b></p>',
    headers: { 'X-App': 'auth' },
    tags: ['reset'],
    metadata: { user: 42 },
  });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  assert.equal(sent.body.logIds.length, 2);
  assert.equal(sent.body.messageIds.length, 2);
  assert.deepEqual(sent.body.recipients.map((r: { status: string }) => r.status), ['accepted', 'accepted']);
  // Answered after the commit: the logs are there, handed to the MTA.
  const first = await logOf(sent.body.logIds[0]);
  assert.ok(['taken', 'sent'].includes(first.status), first.status);
  assert.equal(first.deliveryId, stream.id);
  assert.equal(first.messageId, sent.body.messageIds[0]);

  await waitFor('both messages received', async () => received('ana@apps.test').length === 1 && received('audit@apps.test').length === 1, 30_000);
  const raw = received('ana@apps.test')[0];
  const mail = await PostalMime.parse(raw.raw);
  const header = (name: string) => mail.headers.find((h) => h.key === name)?.value;
  assert.equal(header('message-id'), sent.body.messageIds[0]);
  assert.match(header('x-estafeta-log') ?? '', /^[0-9a-z]+-[0-9a-z]{10}$/);
  assert.equal(header('x-app'), 'auth');
  assert.equal(header('reply-to'), 'help@app.example');
  assert.equal(header('bcc'), undefined, 'no Bcc header');
  assert.equal(header('list-unsubscribe'), undefined, 'this stream does not want List-Unsubscribe');
  assert.match(raw.from, /^bounce\+[0-9a-z]+-[0-9a-z]{10}@/, 'the VERP return path');
  assert.match(mail.html ?? '', /\/t\/o\//, 'an open pixel: the stream tracks');
  assert.equal(mail.text?.trim(), 'Your code is 123456');
  assert.deepEqual(await verifyWithMailauth(raw.raw, records), [true], 'DKIM-signed by app.example');

  await waitFor('both logs Sent', async () => (await Promise.all(sent.body.logIds.map(logOf))).every((l) => l.status === 'sent'), 20_000);
  const logs = (await e.api('GET', `/streams/${stream.id}/logs`)).body;
  assert.equal(logs.total, 2);
  assert.deepEqual((await e.api('GET', `/deliveries/${stream.id}/logs`)).body.logs.map((l: { id: number }) => l.id), logs.logs.map((l: { id: number }) => l.id));
  const kpis = (await e.api('GET', `/streams/${stream.id}/kpis`)).body;
  assert.deepEqual([kpis.targeted, kpis.toDeliver, kpis.sent, kpis.failed], [2, 2, 2, 0]);
  const found = await e.api('GET', `/logs/by-message-id?messageId=${encodeURIComponent(sent.body.messageIds[1])}`);
  assert.equal(found.status, 200, JSON.stringify(found.body));
  assert.equal(found.body.id, sent.body.logIds[1]);
  await waitFor('the webhook saw both delivered', async () => sent.body.logIds.every((id: number) => hooked.some((h) => h.type === 'delivered' && h.logId === id)), 20_000);
  const doc = hooked.find((h) => h.logId === sent.body.logIds[0])!;
  assert.equal(doc.messageId, sent.body.messageIds[0]);
  assert.deepEqual([doc.stream, doc.tags, doc.metadata], [{ id: stream.id, name: 'password-resets' }, ['reset'], { user: 42 }]);
});

test('an Idempotency-Key sent twice sends once and answers the same', async () => {
  const call = async (text = 'Thanks') => {
    const res = await fetch(`${e.app.url}/api/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${e.adminKey}`, 'idempotency-key': 'order-981' },
      body: JSON.stringify({ stream: stream.id, from: 'no-reply@app.example', to: ['once@apps.test'], subject: 'Receipt', text }),
    });
    return { status: res.status, body: await res.json() };
  };
  const a = await call();
  const b = await call();
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.deepEqual(b, a);
  const other = await call('Another message');
  assert.equal(other.status, 409, 'the same key with another request is refused, not answered as a retry');
  assert.match(other.body.error.message, /another request/);
  await waitFor('received', async () => received('once@apps.test').length >= 1, 20_000);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(received('once@apps.test').length, 1);
  assert.equal((await e.api('GET', `/streams/${stream.id}/logs?q=once@`)).body.total, 1);
});

test('a batch with one bad message sends the others, each answered on its own', async () => {
  const message = (to: string) => ({ stream: stream.name, from: 'no-reply@app.example', to: [to], subject: `Hello ${to}`, text: 'Hi' });
  const batch = await e.api('POST', '/messages/batch', {
    messages: [message('b1@apps.test'), { ...message('b2@apps.test'), from: 'x@other.example' }, message('b3@apps.test'), { stream: stream.id, to: 'not-an-array' }, { ...message('b5@apps.test'), stream: 'no-such-stream' }, { ...message('b6@apps.test'), headers: { 'X-Estafeta-Log': 'forged' } }],
  });
  assert.equal(batch.status, 200, JSON.stringify(batch.body));
  assert.deepEqual(batch.body.results.map((r: { ok: boolean }) => r.ok), [true, false, true, false, false, false]);
  assert.equal(batch.body.accepted, 2);
  assert.match(batch.body.results[1].error.message, /does not send from other\.example/);
  assert.equal(batch.body.results[3].error.code, 'INVALID_INPUT');
  assert.equal(batch.body.results[4].error.code, 'NOT_FOUND');
  assert.match(batch.body.results[5].error.message, /X-Estafeta-Log/, 'a header Estafeta sets itself is refused');
  await waitFor('b1 and b3 received', async () => received('b1@apps.test').length === 1 && received('b3@apps.test').length === 1, 20_000);
  assert.equal(received('b2@apps.test').length, 0);
  assert.equal(received('b6@apps.test').length, 0);
  const tooMany = await e.api('POST', '/messages/batch', { messages: Array.from({ length: 501 }, () => message('x@apps.test')) });
  assert.equal(tooMany.status, 400);
});

test('a denylisted recipient: refused where the stream applies the quarantine, sent where it does not', async () => {
  assert.equal((await e.api('POST', '/quarantine', { address: 'gone@apps.test', status: 'denylisted', reason: 'Denylisted address' })).status, 200);
  const refused = await e.api('POST', '/messages', { stream: stream.id, from: 'no-reply@app.example', to: ['gone@apps.test', 'kept@apps.test'], subject: 'Reset', text: 'x' });
  assert.equal(refused.status, 200, JSON.stringify(refused.body));
  assert.deepEqual(refused.body.recipients.map((r: { status: string }) => r.status), ['refused', 'accepted']);
  assert.match(refused.body.recipients[0].reason, /Denylisted address/);
  const log = await logOf(refused.body.recipients[0].logId);
  assert.deepEqual([log.status, log.failureType, log.failureReason], ['failed', 'Hard', 'Denylisted address']);
  const sent = await e.api('POST', '/messages', { stream: openStream.id, from: 'no-reply@app.example', to: ['gone@apps.test'], subject: 'Receipt', html: '<p>Paid</p>' });
  assert.equal(sent.status, 200);
  assert.equal(sent.body.recipients[0].status, 'accepted');
  await waitFor('the receipt received', async () => received('gone@apps.test').length === 1, 20_000);
  const mail = await PostalMime.parse(received('gone@apps.test')[0].raw);
  assert.match(mail.headers.find((h) => h.key === 'list-unsubscribe')?.value ?? '', /\/unsubscribe\//, 'this stream wants List-Unsubscribe');
  assert.doesNotMatch(mail.html ?? '', /\/t\/o\//, 'and does not track');
  const kpis = (await e.api('GET', `/streams/${stream.id}/kpis`)).body;
  assert.equal(kpis.failuresByReason['Denylisted address'], 1);
  assert.ok(kpis.excluded >= 1);
  const failures = (await e.api('GET', `/streams/${stream.id}/failures`)).body;
  assert.ok(failures.byReason.some((r: { failureReason: string; count: number }) => r.failureReason === 'Denylisted address' && r.count === 1), JSON.stringify(failures));
  const settled = await waitFor('no message of the stream still in the MTA', async () => {
    const k = (await e.api('GET', `/streams/${stream.id}/kpis`)).body;
    return k.takenIntoAccount === 0 ? k : null;
  }, 20_000);
  const win = (await e.api('GET', `/streams/${stream.id}/window?since=15m`)).body;
  assert.equal(win.sent, settled.sent, 'every message of the test became final in the last 15 minutes');
  assert.equal(win.failed, settled.failed);
  assert.ok(win.failed >= 1, 'the refused recipient counts in its minute');
  assert.equal((await e.api('GET', `/streams/${stream.id}/window?since=soon`)).status, 400);
});

test('a paused stream refuses messages; resumed, it sends again', async () => {
  const paused = await e.api('POST', `/streams/${stream.id}/pause`);
  assert.equal(paused.status, 200);
  await waitFor('paused', async () => (await e.api('GET', `/streams/${stream.id}`)).body.state === 'paused', 10_000);
  const refused = await e.api('POST', '/messages', { stream: stream.id, from: 'no-reply@app.example', to: ['late@apps.test'], subject: 'x', text: 'x' });
  assert.equal(refused.status, 409);
  assert.match(refused.body.error.message, /paused/);
  assert.equal((await e.api('POST', `/streams/${stream.id}/resume`)).status, 200);
  await waitFor('in progress again', async () => (await e.api('GET', `/streams/${stream.id}`)).body.state === 'in-progress', 10_000);
  const sent = await e.api('POST', '/messages', { stream: stream.id, from: 'no-reply@app.example', to: ['late@apps.test'], subject: 'x', text: 'x' });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  await waitFor('received', async () => received('late@apps.test').length === 1, 20_000);
});

test("a refused recipient is qualified as a delivery's is: Failed, Hard, User unknown, quarantined; a viewer may not send", async () => {
  const sent = await e.api('POST', '/messages', { stream: stream.id, from: 'no-reply@app.example', to: ['unknown-zoe@apps.test'], subject: 'x', text: 'x' });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  const log = await waitFor('the log Failed', async () => {
    const l = await logOf(sent.body.logIds[0]);
    return l.status === 'failed' ? l : null;
  }, 20_000);
  assert.deepEqual([log.failureType, log.failureReason], ['Hard', 'User unknown']);
  assert.ok(log.history.some((h: { type: string }) => h.type === 'bounced'));
  const entry = (await e.api('GET', `/quarantine/entry?address=${encodeURIComponent('unknown-zoe@apps.test')}`)).body;
  assert.equal(entry.status, 'quarantine');
  const viewer = (await e.api('POST', '/api-keys', { name: 'stream-viewer', role: 'viewer' })).body.key;
  assert.equal((await e.as(viewer)('POST', '/messages', { stream: stream.id, from: 'no-reply@app.example', to: ['v@apps.test'], subject: 'x', text: 'x' })).status, 403);
  assert.equal((await e.as(viewer)('GET', `/streams/${stream.id}/kpis`)).status, 200);
});

test("a tracking stream's links lead through a signed redirect to their own URL; the click is counted and its webhook names the URL", async () => {
  const hook = await e.api('POST', '/webhooks', { url: `http://127.0.0.1:${(hookServer.address() as { port: number }).port}/clicks`, eventTypes: ['clicked'], deliveryId: stream.id });
  assert.equal(hook.status, 201, JSON.stringify(hook.body));
  const sent = await e.api('POST', '/messages', {
    stream: stream.id, from: 'no-reply@app.example', to: ['clicker@apps.test'], subject: 'Reset',
    html: '<p><a href="https://app.example/reset?u=7&amp;t=k2">Choose a new password</a> or <a href="mailto:help@app.example">write to us</a></p>',
  });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  await waitFor('received', async () => received('clicker@apps.test').length === 1, 20_000);
  const html = (await PostalMime.parse(received('clicker@apps.test')[0].raw)).html ?? '';
  const links = [...html.matchAll(/href="([^"]*\/t\/c\/[^"]+)"/g)].map((m) => m[1]);
  assert.equal(links.length, 1, html);
  assert.ok(html.includes('href="mailto:help@app.example"') && !html.includes('app.example/reset'), 'only the http(s) link is rewritten');
  await waitFor('Sent', async () => (await logOf(sent.body.logIds[0])).status === 'sent', 20_000);
  const res = await fetch(`${e.app.url}${new URL(links[0]).pathname}`, { redirect: 'manual', headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/130.0' } });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), 'https://app.example/reset?u=7&t=k2');
  const tampered = await fetch(`${e.app.url}${new URL(links[0]).pathname.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}`, { redirect: 'manual' });
  assert.equal(tampered.status, 404, 'an altered link redirects nowhere');
  await waitFor('the click in the log', async () => (await logOf(sent.body.logIds[0])).history.some((h: { type: string }) => h.type === 'clicked'), 20_000);
  const click = await waitFor('the webhook told of the click', async () => hooked.find((h) => h.type === 'clicked' && h.logId === sent.body.logIds[0]) ?? null, 20_000);
  assert.equal(click.url, 'https://app.example/reset?u=7&t=k2');
});
