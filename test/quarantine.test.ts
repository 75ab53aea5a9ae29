/**
 * Quarantine operations through the API with real SMTP traffic: the outage guard holds the
 * quarantines of a provider that suddenly refuses everyone, an operator releases them; bulk
 * release by domain and window with a dry run; releasing one address; adding a known-bad
 * address that the next analysis then excludes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimDns, type SimDns } from '../src/sim/dns-server.ts';
import { freePort, startSink, type Sink } from './helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor, type TestEstafeta } from './helpers/estafeta.ts';

let dns: SimDns;
let sink: Sink;
let e: TestEstafeta;

before(async () => {
  const ip = '127.0.3.31';
  const port = await freePort([ip]);
  dns = await startSimDns({ port: 0, records: [{ name: 'broken.test', type: 'MX', exchange: 'mx.broken.test', priority: 5 }, { name: 'mx.broken.test', type: 'A', address: ip }] });
  // The provider's outage: every recipient is "unknown".
  sink = await startSink(ip, port, (rcpt) => ({ code: 550, text: `5.1.1 <${rcpt}>: user lookup success but no user record found` }));
  e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port } });
});

after(async () => {
  await e.stop();
  await sink.stop();
  await dns.stop();
});

async function sendTo(emails: string[]): Promise<number> {
  const created = await e.api('POST', '/deliveries', { from: { address: 'news@shop.test' }, subject: 'Hello', text: 'Hello. Unsubscribe: {{ unsubscribeUrl }}', recipients: emails.map((email) => ({ email })) });
  const id = created.body.id;
  assert.equal((await e.api('POST', `/deliveries/${id}/analyze`)).status, 200);
  assert.equal((await e.api('POST', `/deliveries/${id}/confirm`)).status, 200);
  await waitFor('the delivery to finish', async () => (await e.api('GET', `/deliveries/${id}`)).body.state === 'finished');
  return id;
}

test('a provider refusing everyone opens an incident: new quarantines are held as suspected, then released', async () => {
  const id = await sendTo(Array.from({ length: 80 }, (_, i) => `person${i}@broken.test`));
  const k = (await e.api('GET', `/deliveries/${id}/kpis`)).body;
  assert.equal(k.failed, 80);
  const { incidents } = (await e.api('GET', '/quarantine/incidents')).body;
  assert.equal(incidents.length, 1);
  assert.equal(incidents[0].domain, 'broken.test');
  assert.equal(incidents[0].hardRate, 100);
  assert.ok(incidents[0].held > 0);
  const stats = (await e.api('GET', '/quarantine/stats')).body;
  assert.equal(stats.suspected, incidents[0].held);
  assert.equal(stats.suspected + stats.quarantine, 80);

  const released = await e.api('POST', `/quarantine/incidents/${incidents[0].id}/release`);
  assert.equal(released.body.changed, incidents[0].held);
  assert.equal((await e.api('GET', '/quarantine/stats')).body.suspected, 0);
  const again = await e.api('POST', `/quarantine/incidents/${incidents[0].id}/confirm`);
  assert.equal(again.status, 409);
});

test('bulk release by domain and time window, with a dry run that counts first', async () => {
  // Too few to look like an outage: these are quarantined at once.
  await sendTo(Array.from({ length: 10 }, (_, i) => `again${i}@broken.test`));
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const to = new Date(Date.now() + 60_000).toISOString();
  const dry = await e.api('POST', '/quarantine/release-bulk', { domain: 'broken.test', from, to, dryRun: true });
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  const inQuarantine = (await e.api('GET', '/quarantine/stats')).body.quarantine;
  assert.equal(dry.body.count, inQuarantine);
  assert.ok(inQuarantine >= 10);
  assert.equal((await e.api('GET', '/quarantine/stats')).body.quarantine, inQuarantine, 'a dry run changes nothing');
  const outside = await e.api('POST', '/quarantine/release-bulk', { domain: 'broken.test', from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z' });
  assert.equal(outside.body.count, 0);
  const done = await e.api('POST', '/quarantine/release-bulk', { domain: 'broken.test', from, to });
  assert.equal(done.body.count, inQuarantine);
  const list = (await e.api('GET', '/quarantine?domain=broken.test&status=quarantine')).body;
  assert.equal(list.entries.length, 0);
});

test('one address released; a known-bad address added is excluded by the next analysis', async () => {
  const added = await e.api('POST', '/quarantine', { address: 'Spam.Trap@Example.TEST', status: 'denylisted', reason: 'Denylisted address' });
  assert.equal(added.status, 200, JSON.stringify(added.body));
  assert.equal(added.body.address, 'spam.trap@example.test', 'addresses are compared lower-cased');
  const created = await e.api('POST', '/deliveries', { from: { address: 'news@shop.test' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', recipients: [{ email: 'spam.trap@example.test' }, { email: 'SPAM.TRAP@example.test' }, { email: 'fine@example.test' }] });
  const report = (await e.api('POST', `/deliveries/${created.body.id}/analyze`)).body;
  assert.deepEqual(report.counts.excludedByReason, { 'Denylisted address': 1, Double: 1 });
  const one = await e.api('POST', '/quarantine/release', { address: 'spam.trap@example.test' });
  assert.equal(one.body.status, 'valid');
  const report2 = (await e.api('POST', `/deliveries/${created.body.id}/analyze`)).body;
  assert.deepEqual(report2.counts.excludedByReason, { Double: 1 });
  assert.equal((await e.api('POST', '/quarantine/release', { address: 'nobody@example.test' })).status, 404);
  const bad = await e.api('GET', '/quarantine?status=gone');
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /status: unknown value "gone"/);
});
