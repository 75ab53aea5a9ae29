/**
 * A stream's figures over a time window, through the API: messages delivered and refused by
 * an SMTP sink, then the stream's report (KPIs, every bucket of the window's throughput,
 * failures by reason), the streams list with each stream's window, a window that holds none
 * of them, windows refused in words, and a settings change that the next message follows.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimDns, type SimDns } from '../src/sim/dns-server.ts';
import { freePort, startSink, type Sink } from './helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor, type TestEstafeta } from './helpers/estafeta.ts';

const MX = '127.0.3.71';
let dns: SimDns;
let sink: Sink;
let e: TestEstafeta;

before(async () => {
  const port = await freePort([MX]);
  dns = await startSimDns({ port: 0, records: [{ name: 'window.test', type: 'MX', exchange: 'mx.window.test', priority: 10 }, { name: 'mx.window.test', type: 'A', address: MX }] });
  sink = await startSink(MX, port, (rcpt) => (rcpt.startsWith('gone') ? { code: 550, text: `5.1.1 <${rcpt}>: Recipient address rejected: User unknown` } : null));
  e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port } });
});

after(async () => {
  await e?.stop();
  await sink?.stop();
  await dns?.stop();
});

test("a stream's KPIs, throughput and failures over a window; the list's window; settings", { timeout: 60_000 }, async () => {
  const stream = (await e.api('POST', '/streams', { name: 'receipts', fromDomains: ['shop.example'] })).body;
  const quiet = (await e.api('POST', '/streams', { name: 'quiet', fromDomains: ['shop.example'] })).body;
  const to = ['ana@window.test', 'bob@window.test', 'eva@window.test', 'gone1@window.test'];
  for (const rcpt of to) assert.equal((await e.api('POST', '/messages', { stream: stream.id, from: 'shop@shop.example', to: [rcpt], subject: 'Receipt', text: 'Paid' })).status, 200);
  const report = await waitFor('the outcomes', async () => {
    const r = (await e.api('GET', `/streams/${stream.id}/report?since=1h`)).body;
    return r.kpis.sent === 3 && r.kpis.failed === 1 ? r : null;
  }, 30_000);
  assert.equal(report.kpis.messages, 4);
  assert.equal(report.kpis.waiting, 0);
  assert.equal(report.kpis.deliveredPercent, 75);
  assert.equal(report.kpis.bouncedPercent, 25);
  assert.equal(report.kpis.hardBounces, 1);
  assert.ok(Date.now() - Date.parse(report.kpis.lastMessageAt) < 60_000, report.kpis.lastMessageAt);
  assert.deepEqual(report.failures.byReason.map((r: { failureType: string; failureReason: string; count: number }) => [r.failureType, r.failureReason, r.count]), [['Hard', 'User unknown', 1]]);
  // An hour in one-minute bars, every bar there (empty ones too), the outcomes in the last ones.
  assert.equal(report.throughput.bucketSeconds, 60);
  assert.ok(report.throughput.points.length >= 60 && report.throughput.points.length <= 62, String(report.throughput.points.length));
  const sum = (k: 'sent' | 'failed') => report.throughput.points.reduce((a: number, p: Record<string, number>) => a + p[k], 0);
  assert.deepEqual([sum('sent'), sum('failed')], [3, 1]);
  const week = (await e.api('GET', `/streams/${stream.id}/report?since=7d`)).body;
  assert.ok(week.throughput.points.length <= 121 && week.throughput.bucketSeconds === 7200, `${week.throughput.points.length} bars of ${week.throughput.bucketSeconds} s`);

  const summary = (await e.api('GET', '/streams/summary?since=24h')).body;
  const byName = Object.fromEntries(summary.streams.map((s: { name: string }) => [s.name, s]));
  assert.deepEqual([byName.receipts.window.messages, byName.receipts.window.deliveredPercent, byName.receipts.window.bouncedPercent], [4, 75, 25]);
  assert.deepEqual([byName.quiet.window.messages, byName.quiet.window.lastMessageAt], [0, null]);

  // The window's figures are the window's: a minute ago, then none (the logs are older).
  await e.app.db.kysely.updateTable('delivery_logs').set({ created_at: Date.now() - 2 * 3_600_000 }).where('delivery_id', '=', stream.id).execute();
  const later = (await e.api('GET', `/streams/${stream.id}/report?since=1h`)).body;
  assert.deepEqual([later.kpis.messages, later.kpis.sent], [0, 0]);
  assert.equal((await e.api('GET', `/streams/${stream.id}/report?since=24h`)).body.kpis.messages, 4);

  for (const since of ['yesterday', '10s', '100d']) {
    const bad = await e.api('GET', `/streams/${stream.id}/report?since=${since}`);
    assert.equal(bad.status, 400, since);
    assert.match(bad.body.error.message, /^since: /);
  }
  assert.equal((await e.api('GET', '/streams/999/report')).status, 404);

  // Settings: the next message follows them; the trail says who changed what.
  const refused = await e.api('POST', '/messages', { stream: quiet.id, from: 'x@other.example', to: ['ana@window.test'], subject: 'x', text: 'x' });
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  const updated = await e.api('PATCH', `/streams/${quiet.id}`, { fromDomains: ['shop.example', 'Other.example'], validity: '2h', tracking: false, applyQuarantine: false });
  assert.equal(updated.status, 200, JSON.stringify(updated.body));
  assert.deepEqual([updated.body.fromDomains, updated.body.validitySeconds, updated.body.tracking, updated.body.applyQuarantine], [['shop.example', 'other.example'], 7200, false, false]);
  assert.equal((await e.api('POST', '/messages', { stream: quiet.id, from: 'x@other.example', to: ['ana@window.test'], subject: 'x', text: 'x' })).status, 200);
  assert.equal((await e.api('PATCH', `/streams/${quiet.id}`, { name: 'receipts' })).status, 400, 'two streams cannot share a name');
  assert.match((await e.api('PATCH', `/streams/${quiet.id}`, { fromDomains: ['not a domain'] })).body.error.message, /"not a domain" is not a domain name/);
  const audit = (await e.api('GET', `/deliveries/${quiet.id}/audit`)).body;
  assert.ok(audit.entries.some((a: { action: string; actor: string }) => a.action === 'stream-updated' && a.actor === 'test-admin (API key)'), JSON.stringify(audit.entries));
});
