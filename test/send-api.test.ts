/**
 * The send API's content forms and guards, over real HTTP against a started Estafeta and
 * delivered by its MTA to an smtp-server sink: a stored template rendered and delivered (its
 * printed fields HTML-escaped), and one whose data lacks a field refused with 422 naming it
 * (nothing sent); raw MIME delivered DKIM-signed with our Message-ID and X-Estafeta-Log, its
 * X-Estafeta-* headers read as tags and metadata and removed, Bcc removed; attachments (a
 * PDF and an inline image) delivered byte for byte, and their bounds refused with 400; a
 * batch mixing the forms where the bad message has its own error; an API key limited to one
 * stream refused on another (403 with the reason) and on other routes; 429 with Retry-After
 * once a key's rate is used up, a batch counting its messages.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import PostalMime from 'postal-mime';
import { startSimDns, type SimDns } from '../src/sim/dns-server.ts';
import { freePort, startSink, type Sink } from './helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor, type TestEstafeta } from './helpers/estafeta.ts';
import { verifyWithMailauth, type TxtRecords } from './helpers/dkim-verifiers.ts';

const MX = '127.0.3.62';

let dns: SimDns;
let sink: Sink;
let e: TestEstafeta;
let records: TxtRecords;
let receipts: { id: number; name: string };
let alerts: { id: number; name: string };

before(async () => {
  const port = await freePort([MX]);
  dns = await startSimDns({ port: 0, records: [{ name: 'apps.test', type: 'MX', exchange: 'mx.apps.test', priority: 10 }, { name: 'mx.apps.test', type: 'A', address: MX }] });
  sink = await startSink(MX, port);
  // One message a second after a burst of 60: the admin key's messages stay well within it.
  e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port }, api: { sendRate: { perSecond: 1, burst: 60 } } });
  const key = await e.api('POST', '/dkim/keys', { domain: 'app.example', selector: 's1' });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  records = { [key.body.dns.name]: key.body.dns.value };
  receipts = (await e.api('POST', '/streams', { name: 'receipts', fromDomains: ['app.example'] })).body;
  alerts = (await e.api('POST', '/streams', { name: 'alerts', fromDomains: ['app.example'] })).body;
  assert.ok(receipts.id && alerts.id);
});

after(async () => {
  await e?.stop();
  await sink?.stop();
  await dns?.stop();
});

const received = (to: string) => sink.received.filter((m) => m.to.includes(to));
const one = async (to: string) => {
  await waitFor(`the message to ${to}`, async () => received(to).length >= 1, 30_000);
  const raw = received(to)[0].raw;
  return { raw, mail: await PostalMime.parse(raw) };
};
const header = (mail: Awaited<ReturnType<typeof PostalMime.parse>>, name: string) => mail.headers.filter((h) => h.key === name).map((h) => h.value);

test('a stored template: created, listed, its syntax checked; rendered with the data and delivered; a field missing is 422 naming it', async () => {
  const bad = await e.api('POST', '/templates', { name: 'broken', subject: 'x', html: '<p>{% if %}</p>' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /html template has a syntax error/);
  const created = await e.api('POST', '/templates', {
    name: 'password-reset',
    subject: 'Reset your password, {{ firstName }}',
    html: '<p>Hello {{ firstName }}, your code is <b>{{ code }}</b>.</p><p>{{ signature | default: "The App team" }}</p>',
    text: 'Hello {{ firstName }}, your code is {{ code }}.',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual(created.body.requiredFields.sort(), ['code', 'firstName']);
  assert.equal((await e.api('POST', '/templates', { name: 'password-reset', subject: 'x', text: 'x' })).status, 409);
  assert.equal((await e.api('GET', '/templates/password-reset')).body.id, created.body.id);
  assert.deepEqual((await e.api('GET', '/templates')).body.templates.map((t: { name: string }) => t.name), ['password-reset']);

  const message = { stream: 'receipts', from: 'no-reply@app.example', to: ['reset@apps.test'], template: 'password-reset' };
  const missing = await e.api('POST', '/messages', { ...message, data: { firstName: 'Ana' } });
  assert.equal(missing.status, 422, JSON.stringify(missing.body));
  assert.equal(missing.body.error.code, 'MISSING_FIELDS');
  assert.deepEqual(missing.body.error.details.missing, ['code']);
  assert.match(missing.body.error.message, /code/);
  const both = await e.api('POST', '/messages', { ...message, subject: 'x', data: { firstName: 'Ana', code: '1' } });
  assert.equal(both.status, 400, 'a template and a subject together');

  const sent = await e.api('POST', '/messages', { ...message, data: { firstName: '<Ana>', code: '845 201' } });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  const { raw, mail } = await one('reset@apps.test');
  assert.equal(mail.subject, 'Reset your password, <Ana>');
  assert.match(mail.html ?? '', /Hello &lt;Ana&gt;, your code is <b>845 201<\/b>/, 'printed values are escaped in HTML');
  assert.match(mail.html ?? '', /The App team/);
  assert.equal(mail.text?.trim(), 'Hello <Ana>, your code is 845 201.');
  assert.deepEqual(await verifyWithMailauth(raw, records), [true]);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(received('reset@apps.test').length, 1, 'the 422 sent nothing');

  // With an Idempotency-Key: a 422 gives the key back, so the call fixed goes with it; a
  // retry then answers the first answer, even once the template is gone.
  const keyed = async (data: Record<string, unknown>) => {
    const res = await fetch(`${e.app.url}/api/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${e.adminKey}`, 'idempotency-key': 'reset-ana-2' }, body: JSON.stringify({ ...message, to: ['reset2@apps.test'], data }) });
    return { status: res.status, body: await res.json() };
  };
  assert.equal((await keyed({ code: '1' })).status, 422);
  const first = await keyed({ code: '1', firstName: 'Ana' });
  assert.equal(first.status, 200, JSON.stringify(first.body));

  const changed = await e.api('PUT', `/templates/${created.body.id}`, { name: 'password-reset', subject: 'Your code', text: 'Code: {{ code }}' });
  assert.equal(changed.status, 200);
  assert.equal(changed.body.version, 2);
  assert.deepEqual(changed.body.requiredFields, ['code']);
  assert.equal((await e.api('DELETE', '/templates/password-reset')).status, 204);
  const gone = await e.api('POST', '/messages', { ...message, data: { code: '1' } });
  assert.equal(gone.status, 404);
  assert.deepEqual(await keyed({ code: '1', firstName: 'Ana' }), first, 'the retry is answered as the first call was');
  await one('reset2@apps.test');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(received('reset2@apps.test').length, 1, 'sent once');
});

test('raw MIME: delivered DKIM-signed with our Message-ID and log header, X-Estafeta-* read as tags and metadata and removed, Bcc removed', async () => {
  const body = 'Your receipt is attached.\r\n-- \r\nThe App\r\n';
  const rawText = [
    'From: "The App" <billing@app.example>',
    'To: Raw One <raw1@apps.test>',
    'Bcc: raw-audit@apps.test',
    'Subject: Receipt 1042',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'X-Estafeta-Tag: receipt, billing',
    'X-Estafeta-Meta-Order: 1042',
    'X-Estafeta-Log: forged',
    'X-App: kept',
    '',
    body,
  ].join('\n');
  const sent = await e.api('POST', '/messages', { stream: receipts.id, raw: Buffer.from(rawText).toString('base64') });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  assert.deepEqual(sent.body.recipients.map((r: { address: string }) => r.address), ['raw1@apps.test', 'raw-audit@apps.test'], 'recipients from To and Bcc');
  const { raw, mail } = await one('raw1@apps.test');
  assert.deepEqual(header(mail, 'message-id'), [sent.body.messageIds[0]], 'our Message-ID, the message had none');
  assert.equal(header(mail, 'x-estafeta-log').length, 1);
  assert.notEqual(header(mail, 'x-estafeta-log')[0], 'forged');
  assert.deepEqual([header(mail, 'x-estafeta-tag'), header(mail, 'x-estafeta-meta-order'), header(mail, 'bcc')], [[], [], []]);
  assert.deepEqual(header(mail, 'x-app'), ['kept']);
  assert.equal(header(mail, 'date').length, 1);
  assert.ok(raw.includes(Buffer.from(body)), 'the body byte for byte, with CRLF line ends');
  assert.deepEqual(await verifyWithMailauth(raw, records), [true]);
  await one('raw-audit@apps.test');
  const target = await e.app.db.kysely.selectFrom('delivery_targets').select('data').where('delivery_id', '=', receipts.id).where('email', '=', 'raw1@apps.test').executeTakeFirstOrThrow();
  assert.deepEqual(JSON.parse(target.data), { tags: ['receipt', 'billing'], metadata: { order: '1042' } });

  const own = await e.api('POST', '/messages', { stream: receipts.id, to: ['raw2@apps.test'], raw: 'From: billing@app.example\r\nTo: someone-else@apps.test\r\nMessage-ID: <own-1@app.example>\r\nSubject: x\r\n\r\nhi\r\n' });
  assert.equal(own.status, 200, JSON.stringify(own.body));
  assert.deepEqual(own.body.messageIds, ['<own-1@app.example>'], 'its own Message-ID kept');
  assert.deepEqual(own.body.recipients.map((r: { address: string }) => r.address), ['raw2@apps.test'], 'the call\'s recipients, not the headers\'');
  await one('raw2@apps.test');
  assert.equal(received('someone-else@apps.test').length, 0);

  const foreign = await e.api('POST', '/messages', { stream: receipts.id, raw: 'From: ceo@other.example\r\nTo: x@apps.test\r\nSubject: x\r\n\r\nhi\r\n' });
  assert.equal(foreign.status, 403);
  assert.match(foreign.body.error.message, /does not send from other\.example/);
  const mixed = await e.api('POST', '/messages', { stream: receipts.id, subject: 'x', raw: 'From: a@app.example\r\n\r\nhi' });
  assert.equal(mixed.status, 400);
  assert.match(mixed.body.error.message, /leave out subject/);
  const noHeaders = await e.api('POST', '/messages', { stream: receipts.id, to: ['x@apps.test'], raw: 'just some text' });
  assert.equal(noHeaders.status, 400);
});

test('attachments: a PDF and an inline image delivered byte for byte; too many, not base64 or too large refused with 400', async () => {
  const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(300_000)]);
  const png = randomBytes(5_000);
  const sent = await e.api('POST', '/messages', {
    stream: 'receipts',
    from: 'billing@app.example',
    to: ['attach@apps.test'],
    subject: 'Your receipt',
    html: '<p><img src="cid:logo"> Thank you</p>',
    text: 'Thank you',
    attachments: [{ filename: 'recibo-nº1042.pdf', content: pdf.toString('base64'), contentType: 'application/pdf' }, { filename: 'logo.png', content: png.toString('base64'), cid: 'logo' }],
  });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  const { raw, mail } = await one('attach@apps.test');
  assert.equal(mail.attachments.length, 2);
  const file = mail.attachments.find((a) => a.mimeType === 'application/pdf')!;
  assert.equal(file.filename, 'recibo-nº1042.pdf');
  assert.ok(Buffer.from(file.content as ArrayBuffer).equals(pdf), 'the PDF intact');
  const logo = mail.attachments.find((a) => a.mimeType === 'image/png')!;
  assert.equal(logo.contentId, '<logo>');
  assert.ok(Buffer.from(logo.content as ArrayBuffer).equals(png), 'the image intact');
  assert.match(mail.html ?? '', /cid:logo/);
  assert.equal(mail.text?.trim(), 'Thank you');
  assert.deepEqual(await verifyWithMailauth(raw, records), [true]);

  const base = { stream: 'receipts', from: 'billing@app.example', to: ['never@apps.test'], subject: 'x', text: 'x' };
  const many = await e.api('POST', '/messages', { ...base, attachments: Array.from({ length: 21 }, (_, i) => ({ filename: `${i}.txt`, content: 'aGk=' })) });
  assert.equal(many.status, 400);
  const notBase64 = await e.api('POST', '/messages', { ...base, attachments: [{ filename: 'a.txt', content: 'hello, world!' }] });
  assert.equal(notBase64.status, 400);
  assert.match(notBase64.body.error.message, /attachments\[0\] \("a\.txt"\): content is not base64/);
  const large = await e.api('POST', '/messages', { ...base, attachments: [{ filename: 'big.bin', content: Buffer.alloc(10 * 1024 * 1024 + 1).toString('base64') }] });
  assert.equal(large.status, 400);
  assert.match(large.body.error.message, /the limit is 10485760 bytes/);
  assert.equal(received('never@apps.test').length, 0);
});

test('a batch mixing fields, template and raw: the bad message has its own error, the others go', async () => {
  assert.equal((await e.api('POST', '/templates', { name: 'welcome', subject: 'Welcome {{ name }}', text: 'Hi {{ name }}' })).status, 201);
  const batch = await e.api('POST', '/messages/batch', {
    messages: [
      { stream: 'receipts', from: 'no-reply@app.example', to: ['m1@apps.test'], subject: 'Fields', text: 'one' },
      { stream: 'receipts', from: 'no-reply@app.example', to: ['m2@apps.test'], template: 'welcome', data: {} },
      { stream: 'receipts', from: 'no-reply@app.example', to: ['m3@apps.test'], template: 'welcome', data: { name: 'Eve' } },
      { stream: 'receipts', raw: 'From: no-reply@app.example\r\nTo: m4@apps.test\r\nSubject: Raw\r\n\r\nfour\r\n' },
    ],
  });
  assert.equal(batch.status, 200, JSON.stringify(batch.body));
  assert.deepEqual(batch.body.results.map((r: { ok: boolean }) => r.ok), [true, false, true, true]);
  assert.deepEqual([batch.body.accepted, batch.body.failed], [3, 1]);
  assert.equal(batch.body.results[1].error.code, 'MISSING_FIELDS');
  assert.deepEqual(batch.body.results[1].error.missing, ['name']);
  for (const to of ['m1@apps.test', 'm3@apps.test', 'm4@apps.test']) await one(to);
  assert.equal((await one('m3@apps.test')).mail.subject, 'Welcome Eve');
  assert.equal(received('m2@apps.test').length, 0);
});

test('an API key limited to one stream sends there only, reads that stream only, and is refused elsewhere with the reason', async () => {
  const made = await e.api('POST', '/api-keys', { name: 'receipts-app', role: 'operator', streams: ['receipts'] });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.deepEqual(made.body.streams, [receipts.id]);
  assert.equal((await e.api('POST', '/api-keys', { name: 'x', role: 'operator', streams: ['nope'] })).status, 400);
  assert.equal((await e.api('POST', '/api-keys', { name: 'y', role: 'admin', streams: ['receipts'] })).status, 400, 'an admin key cannot be limited');
  const app = e.as(made.body.key);
  const message = (stream: string | number, to: string) => ({ stream, from: 'no-reply@app.example', to: [to], subject: 'x', text: 'x' });

  const ok = await app('POST', '/messages', message('receipts', 'scoped@apps.test'));
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const refused = await app('POST', '/messages', message(alerts.id, 'other@apps.test'));
  assert.equal(refused.status, 403);
  assert.match(refused.body.error.message, new RegExp(`limited to stream ${receipts.id}: it may not send to the stream "alerts"`));
  const batch = await app('POST', '/messages/batch', { messages: [message('alerts', 'other@apps.test'), message(receipts.id, 'scoped2@apps.test')] });
  assert.deepEqual(batch.body.results.map((r: { ok: boolean; error?: { code: string } }) => r.ok || r.error!.code), ['FORBIDDEN', true]);

  assert.deepEqual((await app('GET', '/streams')).body.streams.map((s: { name: string }) => s.name), ['receipts']);
  assert.equal((await app('GET', `/streams/${receipts.id}/kpis`)).status, 200);
  assert.equal((await app('GET', `/logs/${ok.body.logIds[0]}`)).status, 200);
  const byId = await app('GET', `/logs/by-message-id?messageId=${encodeURIComponent(ok.body.messageIds[0])}`);
  assert.equal(byId.status, 200, JSON.stringify(byId.body));
  assert.equal(byId.body.id, ok.body.logIds[0]);
  const other = (await e.api('POST', '/messages', message('alerts', 'alerts@apps.test'))).body;
  const otherLog = other.logIds[0];
  const cannot = await app('GET', `/logs/${otherLog}`);
  assert.equal(cannot.status, 403);
  assert.match(cannot.body.error.message, /is not a message of them/);
  const cannotById = await app('GET', `/logs/by-message-id?messageId=${encodeURIComponent(other.messageIds[0])}`);
  assert.equal(cannotById.status, 403);
  assert.match(cannotById.body.error.message, /Message-ID is not one of their messages/);
  assert.equal((await app('GET', '/logs/by-message-id?messageId=%3Cnot-ours%40x.example%3E')).status, 404, 'a Message-ID of no stream: not found, as for anyone');
  assert.equal((await app('GET', `/streams/${alerts.id}/logs`)).status, 403);
  const deliveries = await app('GET', '/deliveries');
  assert.equal(deliveries.status, 403);
  assert.match(deliveries.body.error.message, /limited to stream .*not use GET \/api\/v1\/deliveries/);
  assert.equal((await app('POST', `/streams/${receipts.id}/pause`)).status, 403, 'sending and reading only, whatever the role');
  await one('scoped2@apps.test');
  assert.equal(received('other@apps.test').length, 0);
});

test('past its rate a key is answered 429 with Retry-After; a batch counts each of its messages', async () => {
  const key = (await e.api('POST', '/api-keys', { name: 'bursty', role: 'operator' })).body.key;
  const call = async (path: string, body: unknown) => {
    const res = await fetch(`${e.app.url}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
  };
  // 60 messages that are all refused (a domain the stream does not have) still use the burst.
  const bad = { stream: 'receipts', from: 'x@other.example', to: ['r@apps.test'], subject: 'x', text: 'x' };
  const first = await call('/messages/batch', { messages: Array.from({ length: 60 }, () => bad) });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const single = await call('/messages', bad);
  assert.equal(single.status, 429);
  assert.equal(single.body.error.code, 'RATE_LIMITED');
  assert.match(single.body.error.message, /1 messages a second \(bursts of 60\)/);
  assert.ok(Number(single.retryAfter) >= 1 && Number(single.retryAfter) <= 2, `Retry-After ${single.retryAfter}`);
  const batch = await call('/messages/batch', { messages: Array.from({ length: 5 }, () => bad) });
  assert.equal(batch.status, 429);
  assert.ok(Number(batch.retryAfter) >= 4 && Number(batch.retryAfter) <= 6, `a batch of 5 waits for 5 tokens: Retry-After ${batch.retryAfter}`);
  assert.equal((await e.api('POST', '/messages', bad)).status, 403, 'another key has its own rate');
});
