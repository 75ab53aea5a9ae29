/**
 * The recipients' routes on a thread of their own (tracking.listen): the links in a sent
 * message lead to that port, an open, a click and a one-click unsubscription made there are
 * counted like any other, the main API still answers the same links, and a busy tracking
 * port stops the start with a sentence naming the setting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import PostalMime from 'postal-mime';
import { startSimDns } from '../src/sim/dns-server.ts';
import { freePort, startSink } from './helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor } from './helpers/estafeta.ts';

const MX = '127.0.3.51';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

test('tracking on its own thread and port', { timeout: 90_000 }, async (t) => {
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'inbox.test', type: 'MX', exchange: 'mx.inbox.test', priority: 10 }, { name: 'mx.inbox.test', type: 'A', address: MX }] });
  const sink = await startSink(MX, port);
  const e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port }, tracking: { listen: { host: '127.0.0.1', port: 0 } } });
  t.after(async () => {
    await e.stop();
    await sink.stop();
    await dns.stop();
  });
  const created = await e.api('POST', '/deliveries', { label: 'thread', from: { name: 'Shop', address: 'news@shop.test' }, subject: 'Hi', html: '<p><a href="https://shop.example/a">A</a></p><p><a href="{{ unsubscribeUrl }}">Unsubscribe</a></p>', validity: '1h' });
  const id = created.body.id;
  await e.api('PUT', `/deliveries/${id}/recipients`, 'email\nreader@inbox.test\n', 'text/csv');
  assert.equal((await e.api('POST', `/deliveries/${id}/analyze`)).status, 200);
  assert.equal((await e.api('POST', `/deliveries/${id}/confirm`)).status, 200);
  await waitFor('the message received', async () => sink.received.length === 1);
  const mail = await PostalMime.parse(sink.received[0].raw);
  const pixel = /<img src="([^"]+)"/.exec(mail.html!)![1];
  const link = /href="([^"]+\/t\/c\/[^"]+)"/.exec(mail.html!)![1];
  const unsubscribe = /<(http[^>]+)>/.exec(mail.headers.find((h) => h.key === 'list-unsubscribe')!.value)![1];
  const apiPort = new URL(e.app.url!).port;
  for (const u of [pixel, link, unsubscribe]) assert.notEqual(new URL(u).port, apiPort, `${u} leads to the tracking thread's port`);
  assert.equal(new URL(pixel).port, new URL(link).port);

  await new Promise((r) => setTimeout(r, 10_500)); // past the "click seconds after sending" rule
  assert.equal((await fetch(pixel, { headers: { 'user-agent': UA } })).headers.get('content-type'), 'image/gif');
  const r = await fetch(link, { redirect: 'manual', headers: { 'user-agent': UA } });
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), 'https://shop.example/a');
  assert.equal((await fetch(unsubscribe, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status, 200);
  const k = await waitFor('the thread\'s events counted', async () => {
    const kpis = (await e.api('GET', `/deliveries/${id}/kpis`)).body;
    return kpis.uniqueOpens === 1 && kpis.clicks === 1 && kpis.unsubscribes === 1 ? kpis : null;
  }, 15_000);
  assert.equal(k.machineClicks, 0);
  // The main API answers the same paths (links sent before tracking.listen was set).
  const viaApi = await fetch(`${e.app.url}${new URL(link).pathname}`, { redirect: 'manual' });
  assert.equal(viaApi.status, 302);
  // Anything else on the tracking port is a 404, not the API.
  assert.equal((await fetch(`${new URL(pixel).origin}/api/v1/health`)).status, 404);
});

test('a busy tracking port stops the start with a sentence naming the setting', { timeout: 30_000 }, async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const busy = (blocker.address() as { port: number }).port;
  try {
    await assert.rejects(startTestEstafeta({ tracking: { listen: { host: '127.0.0.1', port: busy } } }), (err: Error) => {
      assert.match(err.message, new RegExp(`Port ${busy} on 127.0.0.1, for the tracking routes, is already in use.*tracking\\.listen\\.port`));
      return true;
    });
  } finally {
    blocker.close();
  }
});
