/**
 * Webhooks end to end: Estafeta sends small deliveries through its MTA to an smtp-server
 * sink found through a real DNS server, and a real HTTP receiver (node:http) registered as
 * a webhook endpoint checks the signature of every POST. The receiver sees each delivered
 * event once; answers 500 for a while and then recovers, and the events arrive after the
 * retries, in order, none lost; a replay sends a window again; and a receiver that never
 * recovers gets its endpoint disabled after the retry period (seconds here, 24 h by default).
 */
import { randomBytes } from 'node:crypto';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSimDns, type SimDns } from '../src/sim/dns-server.ts';
import { freePort, startSink, type Sink } from './helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor, type TestEstafeta } from './helpers/estafeta.ts';
import { startSmallDelivery } from './helpers/small-delivery.ts';
import { verifySignature } from '../src/webhooks/index.ts';

const MX = '127.0.3.41';
/** Greylists each recipient once, refuses unknown-* with 550 5.1.1. */
const MX_GREY = '127.0.3.42';

interface Receiver {
  url: string;
  secret: string;
  /** 200 or what the test wants it to answer. */
  answer: number;
  /** Every event document received with a good signature, in arrival order. */
  events: { id: number; type: string; [k: string]: unknown }[];
  posts: number;
  badSignatures: number;
  server: Server;
}

async function startReceiver(): Promise<Receiver> {
  const r: Receiver = { url: '', secret: '', answer: 200, events: [], posts: 0, badSignatures: 0, server: null as unknown as Server };
  // A path of its own: another test file's Estafeta, retrying to a port that was closed and
  // then given to this receiver by the system, posts to its own path and is not counted here.
  const path = `/hooks-${randomBytes(6).toString('hex')}`;
  r.server = createServer((req, res) => {
    if (req.url !== path) {
      res.writeHead(404).end('not this receiver');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      r.posts++;
      if (!verifySignature(r.secret, req.headers['estafeta-signature'] as string | undefined, body, Math.floor(Date.now() / 1000))) {
        r.badSignatures++;
        res.writeHead(400).end('bad signature');
        return;
      }
      if (r.answer !== 200) {
        res.writeHead(r.answer).end('receiver down for the test');
        return;
      }
      r.events.push(...JSON.parse(body).events);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}${path}`;
  return r;
}

let dns: SimDns;
let sink: Sink;
let grey: Sink;
let e: TestEstafeta;
let rx: Receiver;
let endpointId: number;

before(async () => {
  const port = await freePort([MX, MX_GREY]);
  dns = await startSimDns({
    port: 0,
    records: [
      { name: 'hooks.test', type: 'MX', exchange: 'mx.hooks.test', priority: 10 },
      { name: 'mx.hooks.test', type: 'A', address: MX },
      { name: 'grey.test', type: 'MX', exchange: 'mx.grey.test', priority: 10 },
      { name: 'mx.grey.test', type: 'A', address: MX_GREY },
    ],
  });
  sink = await startSink(MX, port);
  const seen = new Set<string>();
  grey = await startSink(MX_GREY, port, (rcpt) => {
    if (rcpt.startsWith('unknown')) return { code: 550, text: '5.1.1 <' + rcpt + '>: Recipient address rejected: User unknown' };
    if (seen.has(rcpt)) return null;
    seen.add(rcpt);
    return { code: 451, text: '4.7.1 Greylisted, please try again later' };
  });
  // Retries from 250 ms, at most 1 s apart, given up after 6 s without a 2xx.
  e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port }, webhooks: { retryInitial: '250ms', retryMax: '1s', retryFor: '6s' } });
  rx = await startReceiver();
});

after(async () => {
  await e?.stop();
  await sink?.stop();
  await grey?.stop();
  await dns?.stop();
  await new Promise((r) => rx?.server.close(r));
});

const delivered = (ids: number[]) => rx.events.filter((ev) => ev.type === 'delivered' && ids.includes(ev.deliveryId as number));

test('an endpoint is created with its secret shown once; http(s) only; only an admin creates, changes or sees its URL in full; viewers see none', async () => {
  const bad = await e.api('POST', '/webhooks', { url: 'ftp://127.0.0.1/x' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /http or https/);
  const operator = (await e.api('POST', '/api-keys', { name: 'hooks-operator', role: 'operator' })).body.key;
  assert.equal((await e.as(operator)('POST', '/webhooks', { url: rx.url })).status, 403);
  const created = await e.api('POST', '/webhooks', { url: rx.url, eventTypes: ['delivered', 'bounced'] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.match(created.body.secret, /^whsec_/);
  rx.secret = created.body.secret;
  endpointId = created.body.id;
  const read = await e.api('GET', `/webhooks/${endpointId}`);
  assert.equal(read.status, 200);
  assert.equal(read.body.secret, undefined);
  assert.equal(JSON.stringify((await e.api('GET', '/webhooks')).body).includes(rx.secret), false);
  // Operators read endpoints and attempts but see only the URL's origin (a path or query often
  // holds a token); viewers see none; only an admin sees the URL in full.
  assert.equal(read.body.url, rx.url);
  const asOperator = e.as(operator);
  const listed = await asOperator('GET', '/webhooks');
  assert.equal(listed.status, 200);
  const url = new URL(rx.url);
  assert.deepEqual(listed.body.webhooks.map((w: { url: string }) => w.url), [`${url.origin}/…`]);
  assert.equal(JSON.stringify(listed.body).includes('/hooks'), false);
  const one = await asOperator('GET', `/webhooks/${endpointId}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.url, `${url.origin}/…`);
  assert.ok(Array.isArray(one.body.attempts));
  const viewer = (await e.api('POST', '/api-keys', { name: 'hooks-viewer', role: 'viewer' })).body.key;
  assert.equal((await e.as(viewer)('GET', '/webhooks')).status, 403);
  assert.equal((await e.as(viewer)('GET', `/webhooks/${endpointId}`)).status, 403);
  for (const [method, path] of [['POST', `/webhooks/${endpointId}/replay`], ['POST', `/webhooks/${endpointId}/test`], ['POST', `/webhooks/${endpointId}/enable`], ['DELETE', `/webhooks/${endpointId}`]] as const) {
    assert.equal((await asOperator(method, path, method === 'POST' && path.endsWith('replay') ? { from: new Date().toISOString() } : undefined)).status, 403, `${method} ${path} as an operator`);
  }
  // Not in the database in clear either.
  const row = await e.app.db.kysely.selectFrom('webhook_endpoints').select('secret').where('id', '=', endpointId).executeTakeFirstOrThrow();
  assert.match(row.secret, /^sealed:v1:/);
});

test('a test event arrives signed', async () => {
  const res = await e.api('POST', `/webhooks/${endpointId}/test`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.ok, true);
  assert.equal(res.body.statusCode, 200);
  assert.equal(rx.events.at(-1)?.type, 'test');
  rx.events.length = 0;
});

test('every delivered event of a delivery arrives once, signed, with its log and Message-ID', async () => {
  const recipients = ['a@hooks.test', 'b@hooks.test', 'c@hooks.test', 'd@hooks.test'];
  const { id } = await startSmallDelivery(e, { from: 'news@shop.test', recipients });
  await waitFor('4 delivered events at the receiver', async () => delivered([id]).length >= 4, 30_000);
  await new Promise((r) => setTimeout(r, 1500)); // nothing more comes
  const got = delivered([id]);
  assert.equal(got.length, 4);
  assert.deepEqual(got.map((ev) => ev.recipient).sort(), recipients);
  assert.equal(new Set(got.map((ev) => ev.id)).size, 4);
  for (const ev of got) {
    assert.equal(ev.version, 1);
    assert.equal(ev.status, 'sent');
    assert.match(ev.messageId as string, /^<\d+\.[0-9a-z]+\.[^@]+@shop\.test>$/);
    assert.ok(Number.isFinite(Date.parse(ev.occurredAt as string)));
    assert.match(ev.reply as string, /^250/);
  }
  assert.equal(rx.badSignatures, 0);
  // Only the types asked for: the receiver gets no other.
  assert.deepEqual([...new Set(rx.events.map((ev) => ev.type))], ['delivered']);
});

test('a receiver answering 500 for a while gets every event after the retries, in order, none lost', async () => {
  rx.answer = 500;
  const before = rx.events.length;
  const recipients = ['e@hooks.test', 'f@hooks.test', 'g@hooks.test', 'h@hooks.test', 'i@hooks.test'];
  const { id } = await startSmallDelivery(e, { from: 'news@shop.test', recipients });
  await waitFor('three failed attempts', async () => (await e.api('GET', `/webhooks/${endpointId}`)).body.attempts.filter((a: { statusCode: number }) => a.statusCode === 500).length >= 3, 30_000, 100);
  const failing = (await e.api('GET', `/webhooks/${endpointId}`)).body;
  assert.ok(failing.failures >= 3);
  assert.equal(failing.enabled, true);
  assert.match(failing.attempts[0].error, /HTTP 500: receiver down for the test/);
  assert.equal(rx.events.length, before);
  rx.answer = 200;
  await waitFor('5 delivered events after the outage', async () => delivered([id]).length >= 5, 30_000);
  await new Promise((r) => setTimeout(r, 1000));
  const got = delivered([id]);
  assert.deepEqual(got.map((ev) => ev.recipient).sort(), recipients);
  assert.equal(new Set(got.map((ev) => ev.id)).size, got.length);
  const ids = rx.events.map((ev) => ev.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'events arrive in the order they were written');
  const after = (await e.api('GET', `/webhooks/${endpointId}`)).body;
  assert.equal(after.failures, 0);
  assert.equal(after.attempts[0].statusCode, 200);
  assert.ok(after.attempts[0].attempt > 1, 'the successful attempt was a retry');
});

test('a replay sends a window of events again, in order', async () => {
  const all = rx.events.filter((ev) => ev.type === 'delivered');
  const from = all[2].occurredAt as string;
  const expected = all.filter((ev) => (ev.occurredAt as string) >= from).map((ev) => ev.id);
  rx.events.length = 0;
  const res = await e.api('POST', `/webhooks/${endpointId}/replay`, { from });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  await waitFor('the replayed events', async () => rx.events.length >= expected.length, 20_000);
  await new Promise((r) => setTimeout(r, 800));
  assert.deepEqual(rx.events.map((ev) => ev.id), expected);
  assert.equal((await e.api('POST', `/webhooks/${endpointId}/replay`, { from: 'yesterday' })).status, 400);
});

test('a receiver that never recovers has its endpoint disabled after the retry period, with the reason', async () => {
  rx.answer = 503;
  const started = Date.now();
  await startSmallDelivery(e, { from: 'news@shop.test', recipients: ['j@hooks.test'] });
  const disabled = await waitFor('the endpoint disabled', async () => {
    const w = (await e.api('GET', `/webhooks/${endpointId}`)).body;
    return w.enabled ? null : w;
  }, 40_000, 200);
  const took = Date.now() - started;
  assert.ok(took >= 6000, `disabled after ${took} ms, before the 6 s retry period`);
  assert.match(disabled.disabledReason, /no 2xx answer for \d+ s .*HTTP 503/);
  // Disabled: no more attempts.
  const n = rx.posts;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(rx.posts, n);
  // Enabled again once the receiver is back: the event that was never delivered arrives.
  rx.answer = 200;
  rx.events.length = 0;
  const enabled = await e.api('POST', `/webhooks/${endpointId}/enable`);
  assert.equal(enabled.body.enabled, true);
  await waitFor('the held event', async () => rx.events.some((ev) => ev.recipient === 'j@hooks.test'), 20_000);
  assert.equal((await e.api('DELETE', `/webhooks/${endpointId}`)).status, 204);
  assert.equal((await e.api('GET', `/webhooks/${endpointId}`)).status, 404);
});

test("an endpoint for every type sees each message's events in order: deferred then delivered; bounced with its reason", async () => {
  const created = await e.api('POST', '/webhooks', { url: rx.url });
  assert.equal(created.status, 201);
  rx.secret = created.body.secret;
  rx.answer = 200;
  rx.events.length = 0;
  const { id } = await startSmallDelivery(e, { from: 'news@shop.test', recipients: ['k@grey.test', 'l@grey.test', 'unknown-m@grey.test'] });
  const mine = () => rx.events.filter((ev) => ev.deliveryId === id);
  await waitFor('both greylisted messages delivered and the unknown one bounced', async () => mine().filter((ev) => ev.type === 'delivered').length >= 2 && mine().some((ev) => ev.type === 'bounced'), 60_000);
  for (const r of ['k@grey.test', 'l@grey.test']) {
    assert.deepEqual(mine().filter((ev) => ev.recipient === r).map((ev) => ev.type), ['deferred', 'delivered'], r);
  }
  const deferred = mine().find((ev) => ev.type === 'deferred')!;
  assert.match(deferred.reply as string, /^451/);
  const bounced = mine().find((ev) => ev.type === 'bounced')!;
  assert.equal(bounced.recipient, 'unknown-m@grey.test');
  assert.equal(bounced.status, 'failed');
  assert.equal(bounced.failureType, 'Hard');
  assert.equal(bounced.failureReason, 'User unknown');
  assert.equal(rx.badSignatures, 0);
});
