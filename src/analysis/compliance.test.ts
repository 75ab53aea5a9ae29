/**
 * The bulk-sender compliance gate against the simulator's loopback DNS server (real dns2
 * server, node's resolver, mailauth's SPF evaluation) and a real database: records that pass
 * and records that fail, one test per check, and a DNS that never answers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { startSimDns, reverseName, type SimDns } from '../sim/dns-server.ts';
import { DnsLookup } from '../lib/dns-lookup.ts';
import { createTestDb, type TestDb } from '../db/testing.ts';
import { layeredFiles } from '../config/policy-file.ts';
import { loadCompliancePolicy, type CompliancePolicy } from '../config/compliance-policy.ts';
import { createDelivery } from '../deliveries/index.ts';
import { addDelta, applyDeltas, type CounterDeltas } from '../deliveries/index.ts';
import { createDkimKey, DkimKeyCache, dkimAnalysisCheck } from '../dkim/index.ts';
import { complianceCheck, type ComplianceDeps } from './compliance.ts';
import { ReportLines } from './report.ts';
import type { SendingIp } from './compliance-dns.ts';

let dns: SimDns;
let lookup: DnsLookup;
let t: TestDb;
let silent: Socket;
const SECRET = 'compliance-test-secret-0123456789';
const shipped = loadCompliancePolicy(layeredFiles('compliance.yaml', null));

before(async () => {
  dns = await startSimDns({
    records: [
      // good.test: SPF on the From domain and on its bounce subdomain, DMARC, two IPs' PTRs.
      { name: 'good.test', type: 'TXT', data: 'v=spf1 ip4:127.0.0.2 -all' },
      { name: 'bounces.good.test', type: 'TXT', data: ['v=spf1 ip4:127.0.0.2 ', '-all'] },
      { name: '_dmarc.good.test', type: 'TXT', data: 'v=DMARC1; p=quarantine; rua=mailto:d@good.test' },
      { name: 'bounces.nospf.test', type: 'MX', exchange: 'mx.nospf.test', priority: 10 },
      { name: 'nospf.test', type: 'TXT', data: 'v=spf1 -all' },
      { name: '_dmarc.bad.test', type: 'TXT', data: 'v=DMARC1; p=maybe' },
      { name: '_dmarc.none.test', type: 'TXT', data: 'v=DMARC1; p=none' },
      { name: 'nodmarc.test', type: 'TXT', data: 'google-site-verification=abc' },
      { name: reverseName('127.0.0.2'), type: 'PTR', domain: 'mta1.good.test' },
      { name: 'mta1.good.test', type: 'A', address: '127.0.0.2' },
      { name: reverseName('127.0.0.3'), type: 'PTR', domain: 'mta2.good.test' },
      { name: 'mta2.good.test', type: 'A', address: '127.0.0.99' },
    ],
  });
  lookup = new DnsLookup({ servers: [`${dns.host}:${dns.port}`], timeoutMs: 1000 });
  t = await createTestDb();
  // A DNS server that takes every query and never answers.
  silent = createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
});
after(async () => {
  await dns.stop();
  await t.cleanup();
  silent.close();
});

const deps = (over: Partial<ComplianceDeps> = {}): ComplianceDeps => ({
  q: t.db.kysely,
  dns: lookup,
  policy: () => shipped,
  bounceDomain: 'bounces.good.test',
  publicUrl: { url: 'https://estafeta.good.test', configured: true },
  sendingIps: () => [{ address: '127.0.0.2', helo: 'mta1.good.test' }],
  ...over,
});

async function run(over: Partial<ComplianceDeps> = {}, d: { fromAddress?: string; recipients?: number; unsubscribeUrl?: string | null; deliveryId?: number } = {}) {
  const out = new ReportLines();
  await complianceCheck(deps(over))({ deliveryId: d.deliveryId ?? 0, fromAddress: d.fromAddress ?? 'news@good.test', unsubscribeUrl: d.unsubscribeUrl ?? null, recipients: d.recipients ?? 10 }, out);
  return out.lines;
}
const find = <L extends { code: string }>(lines: L[], prefix: string) => lines.filter((l) => l.code.startsWith(prefix));
const one = (lines: { level: string; code: string; message: string }[], prefix: string) => {
  const found = find(lines, prefix);
  assert.equal(found.length, 1, `one ${prefix} line in ${JSON.stringify(lines, null, 1)}`);
  return found[0] as { level: string; code: string; message: string };
};

test('a domain that meets every requirement gets info lines only', async () => {
  const lines = await run({}, { recipients: 6000 });
  assert.deepEqual(lines.filter((l) => l.level !== 'info'), [], JSON.stringify(lines, null, 1));
  assert.match(one(lines, 'bulk-sender').message, /6,000 recipients: bulk sending/);
});

test('SPF aligned: the bounce subdomain publishes SPF that authorizes the sending IP', async () => {
  const spf = one(await run(), 'spf');
  assert.equal(spf.level, 'info');
  assert.equal(spf.code, 'spf-aligned');
  assert.match(spf.message, /bounces\.good\.test \(aligned with good\.test\) publishes "v=spf1 ip4:127\.0\.0\.2 -all", which authorizes the sending IPs \(127\.0\.0\.2\)/);
  // A subdomain From is aligned through the organizational domain.
  assert.match(one(await run({}, { fromAddress: 'a@news.good.test' }), 'spf').message, /^SPF: bounces\.good\.test \(aligned with news\.good\.test through good\.test\)/);
});

test('SPF missing on the return path domain: a warning, an error for a bulk delivery, saying where to publish', async () => {
  const small = one(await run({ bounceDomain: 'bounces.nospf.test' }, { fromAddress: 'a@nospf.test' }), 'spf');
  assert.equal(small.level, 'warning');
  assert.equal(small.code, 'spf-missing');
  assert.match(small.message, /bounces\.nospf\.test, the return path's domain, has no SPF record \(nospf\.test publishes SPF, but receivers check the return path's domain\).*"v=spf1 ip4:127\.0\.0\.2 -all"/);
  const bulk = one(await run({ bounceDomain: 'bounces.nospf.test' }, { fromAddress: 'a@nospf.test', recipients: 5000 }), 'spf');
  assert.equal(bulk.level, 'error');
});

test('SPF not aligned: a return path outside the From domain says which domain and how to fix it', async () => {
  const l = one(await run({ bounceDomain: 'bounces.estafeta.localhost' }, { recipients: 5000 }), 'spf');
  assert.equal(l.level, 'error');
  assert.equal(l.code, 'spf-not-aligned');
  assert.match(l.message, /bounce\+…@bounces\.estafeta\.localhost \(bounces\.domain\), outside good\.test.*\(good\.test publishes SPF.*bounces\.good\.test/);
});

test('SPF that does not authorize a sending IP names the IP and its result', async () => {
  const l = one(await run({ sendingIps: () => [{ address: '127.0.0.2', helo: null }, { address: '127.0.0.9', helo: null }] }), 'spf');
  assert.equal(l.code, 'spf-ip-not-authorized');
  assert.match(l.message, /does not authorize 127\.0\.0\.9 \(fail\): add ip4:127\.0\.0\.9/);
});

test('DMARC present: the policy and where it was found; a subdomain uses its organizational domain', async () => {
  const own = one(await run(), 'dmarc');
  assert.equal(own.level, 'info');
  assert.match(own.message, /_dmarc\.good\.test publishes p=quarantine for good\.test\.$/);
  const sub = one(await run({}, { fromAddress: 'a@news.good.test' }), 'dmarc');
  assert.match(sub.message, /_dmarc\.good\.test publishes p=quarantine for news\.good\.test/);
  const none = one(await run({}, { fromAddress: 'a@none.test' }), 'dmarc');
  assert.equal(none.level, 'info');
  assert.match(none.message, /p=none .*monitoring only/);
});

test('DMARC absent: a warning, an error for a bulk delivery, with the record to publish', async () => {
  const small = one(await run({}, { fromAddress: 'a@news.nodmarc.test' }), 'dmarc');
  assert.equal(small.level, 'warning');
  assert.equal(small.code, 'dmarc-missing');
  assert.match(small.message, /news\.nodmarc\.test has no DMARC record \(none at _dmarc\.news\.nodmarc\.test or _dmarc\.nodmarc\.test\).*"v=DMARC1; p=none; rua=mailto:dmarc-reports@nodmarc\.test"/);
  assert.equal(one(await run({}, { fromAddress: 'a@nodmarc.test', recipients: 5000 }), 'dmarc').level, 'error');
});

test('DMARC invalid: a policy other than none, quarantine or reject is named', async () => {
  const l = one(await run({}, { fromAddress: 'a@bad.test', recipients: 9000 }), 'dmarc');
  assert.equal(l.level, 'error');
  assert.equal(l.code, 'dmarc-invalid');
  assert.match(l.message, /p= must be none, quarantine or reject \(it is "maybe"\)/);
});

test("one-click unsubscribe: an http public URL is an error from 5,000 recipients and a warning below; https passes", async () => {
  const http = { publicUrl: { url: 'http://127.0.0.1:8025', configured: false } };
  const bulk = one(await run(http, { recipients: 5000 }), 'unsubscribe');
  assert.equal(bulk.level, 'error');
  assert.match(bulk.message, /not https \(http:\/\/127\.0\.0\.1:8025\).*publicUrl is not set.*5,000 recipients/);
  assert.equal(one(await run(http, { recipients: 4999 }), 'unsubscribe').level, 'warning');
  const https = one(await run({}, { recipients: 5000 }), 'unsubscribe');
  assert.equal(https.level, 'info');
  assert.equal(https.code, 'unsubscribe-one-click');
});

test("a delivery's own unsubscribe URL is checked instead of Estafeta's", async () => {
  const own = one(await run({}, { recipients: 5000, unsubscribeUrl: 'http://shop.good.test/optout?e={{ email }}' }), 'unsubscribe');
  assert.equal(own.level, 'error');
  assert.match(own.message, /delivery's own unsubscribe URL is http/);
  const ok = one(await run({ publicUrl: { url: 'http://x', configured: true } }, { recipients: 5000, unsubscribeUrl: 'https://shop.good.test/optout?e={{ email }}' }), 'unsubscribe');
  assert.equal(ok.level, 'info');
});

test('reverse DNS: forward-confirmed, mismatched and missing PTRs', async () => {
  const ips: SendingIp[] = [
    { address: '127.0.0.2', helo: 'mta1.good.test' },
    { address: '127.0.0.3', helo: null },
    { address: '127.0.0.4', helo: 'mta4.good.test' },
  ];
  const lines = find(await run({ sendingIps: () => ips }, { recipients: 5000 }), 'ptr');
  assert.deepEqual(lines.map((l) => `${l.level} ${l.code}`), ['info ptr', 'error ptr-mismatch', 'error ptr-missing']);
  assert.match(lines[0].message, /127\.0\.0\.2: mta1\.good\.test, which resolves back to it/);
  assert.match(lines[1].message, /mta2\.good\.test → 127\.0\.0\.99, not 127\.0\.0\.3/);
  assert.match(lines[2].message, /127\.0\.0\.4 has no PTR record.*mta4\.good\.test/);
  // A HELO name other than the PTR name is said (a warning: receivers compare them).
  assert.equal(one(await run({ sendingIps: () => [{ address: '127.0.0.2', helo: 'other.good.test' }] }), 'ptr').code, 'ptr-helo-mismatch');
  // No IPs configured: said, not checked.
  assert.equal(one(await run({ sendingIps: () => [] }), 'ptr').code, 'ptr-not-configured');
});

async function deliveryFrom(from: string, o: { startedDaysAgo: number; delivered: number; complaints: number }): Promise<number> {
  const d = await createDelivery(t.db, { label: from, from: { name: 'S', address: from }, subject: 's', text: 'x {{ unsubscribeUrl }}', recipients: [{ email: 'a@b.test' }] }, { defaultValidityMs: 3_600_000, maxValidityMs: 86_400_000 });
  await t.db.kysely.updateTable('deliveries').set({ started_at: Date.now() - o.startedDaysAgo * 86_400_000 }).where('id', '=', d.id).execute();
  const deltas: CounterDeltas = new Map();
  addDelta(deltas, d.id, 'status:1', o.delivered);
  addDelta(deltas, d.id, 'complaints', o.complaints);
  await applyDeltas(t.db.kysely, deltas);
  return d.id;
}

test('complaint rate: below 0.1 % an info, above it a warning, above 0.3 % an error, with the figure', async () => {
  await deliveryFrom('a@calm.test', { startedDaysAgo: 1, delivered: 5000, complaints: 2 });
  await deliveryFrom('a@calm.test', { startedDaysAgo: 40, delivered: 100, complaints: 50 }); // outside the 30 days
  const calm = one(await run({}, { fromAddress: 'news@calm.test' }), 'complaint');
  assert.equal(calm.level, 'info');
  assert.match(calm.message, /0\.04 % \(2 complaints \/ 5,000 delivered, over the last 1 deliveries from calm\.test in 30 days\): below 0\.10 %/);

  await deliveryFrom('a@warm.test', { startedDaysAgo: 1, delivered: 2500, complaints: 5 });
  await deliveryFrom('b@WARM.test', { startedDaysAgo: 2, delivered: 2500, complaints: 5 });
  const warm = one(await run({}, { fromAddress: 'news@warm.test' }), 'complaint');
  assert.equal(warm.level, 'warning');
  assert.match(warm.message, /0\.20 % \(10 complaints \/ 5,000 delivered, over the last 2 deliveries.*above 0\.10 %/);

  const hotId = await deliveryFrom('a@hot.test', { startedDaysAgo: 3, delivered: 5000, complaints: 20 });
  const hot = one(await run({}, { fromAddress: 'news@hot.test' }), 'complaint');
  assert.equal(hot.level, 'error');
  assert.match(hot.message, /0\.40 % \(20 complaints \/ 5,000 delivered.*above 0\.30 %, where Gmail junks or refuses/);
  // The delivery being analyzed is not its own history.
  assert.equal(one(await run({}, { fromAddress: 'news@hot.test', deliveryId: hotId }), 'complaint').code, 'complaint-rate');

  // Too few delivered messages to block on: the rate is said, as a warning.
  await deliveryFrom('a@tiny.test', { startedDaysAgo: 1, delivered: 200, complaints: 4 });
  const tiny = one(await run({}, { fromAddress: 'news@tiny.test' }), 'complaint');
  assert.equal(tiny.level, 'warning');
  assert.match(tiny.message, /2\.00 %.*fewer than 1,000.*a warning, not an error/);

  // The thresholds are data: a policy with lower limits makes the calm domain an error.
  const strict: CompliancePolicy = { ...shipped, complaintRate: { ...shipped.complaintRate, warnAbove: 0.0001, errorAbove: 0.0002 } };
  assert.equal(one(await run({ policy: () => strict }, { fromAddress: 'news@calm.test' }), 'complaint').level, 'error');
});

test('DKIM: a published key of the organizational domain aligns; an unpublished key and no key are said', async () => {
  const keys = new DkimKeyCache(t.db.kysely, SECRET);
  const check = dkimAnalysisCheck(keys, { dns: lookup, bulkRecipients: () => 5000 });
  const lines = async (fromAddress: string, recipients = 10) => {
    const out = new ReportLines();
    await check({ fromAddress, recipients }, out);
    return out.lines;
  };
  const none = one(await lines('a@nokey.good.test', 5000), 'dkim');
  assert.deepEqual([none.level, none.code], ['error', 'dkim-no-key']);
  assert.equal(one(await lines('a@nokey.good.test'), 'dkim').level, 'warning');

  const info = await createDkimKey(t.db, { domain: 'good.test', selector: 's1' }, SECRET);
  const unpublished = one(await lines('a@news.good.test'), 'dkim');
  assert.deepEqual([unpublished.level, unpublished.code], ['warning', 'dkim-not-published']);
  assert.match(unpublished.message, /s1\._domainkey\.good\.test has no TXT record with this key/);

  dns.addRecords({ name: info.dns.name, type: 'TXT', data: info.dns.value });
  // The lookup helper keeps a missing record for a minute: a new one needs a new helper.
  const fresh = dkimAnalysisCheck(keys, { dns: new DnsLookup({ servers: [`${dns.host}:${dns.port}`], timeoutMs: 1000 }), bulkRecipients: () => 5000 });
  const out = new ReportLines();
  await fresh({ fromAddress: 'a@news.good.test', recipients: 5000 }, out);
  const aligned = one(out.lines, 'dkim');
  assert.deepEqual([aligned.level, aligned.code], ['info', 'dkim-aligned']);
  assert.match(aligned.message, /d=good\.test \(the organizational domain of news\.good\.test: aligned\); the public key is published at s1\._domainkey\.good\.test/);
});

test('a DNS that does not answer: every DNS check says it could not check, as a warning, within the timeout', async () => {
  const deaf = new DnsLookup({ servers: [`127.0.0.1:${silent.address().port}`], timeoutMs: 300 });
  const started = Date.now();
  const lines = await run({ dns: deaf, sendingIps: () => [{ address: '127.0.0.2', helo: null }] }, { recipients: 5000 });
  const elapsed = Date.now() - started;
  for (const code of ['spf-unchecked', 'dmarc-unchecked', 'ptr-unchecked']) {
    const l = one(lines, code);
    assert.equal(l.level, 'warning', code);
    assert.match(l.message, /^Could not check/);
  }
  // All lookups run at once: one timeout, not one per lookup.
  assert.ok(elapsed < 2000, `${elapsed} ms`);
  const keys = new DkimKeyCache(t.db.kysely, SECRET);
  const out = new ReportLines();
  await dkimAnalysisCheck(keys, { dns: deaf, bulkRecipients: () => 5000 })({ fromAddress: 'a@good.test', recipients: 5000 }, out);
  assert.equal(one(out.lines, 'dkim').code, 'dkim-unchecked');
});
