/**
 * `npm run bench:tracking [-- --recipients N] [--rate R] [--thread] [--json]`
 *
 * Whether a burst of opens and clicks slows sending (issue 13: "a burst of 10,000 requests a
 * second must not slow sending"). Starts Estafeta in-process (SQLite, as `estafeta start`,
 * no DKIM key) with an smtp-server sink as the recipients' MX, sends a first small delivery
 * to get real signed pixel and link URLs out of the received messages, then sends a delivery
 * of N personalized 10 KB messages with two tracked links each, once with no load and once
 * while two autocannon processes fetch the pixel and the tracked links at R requests a
 * second in all (half each), as a person's browser would. Prints the requests a second
 * achieved, latency p50/p99/max of the pixel and of the redirect, the sending rate with and
 * without load, the open and click events written and those dropped (answered but never
 * stored), and how long the feedback service took to count them once the load stopped.
 * With --thread, the tracking routes run on their own thread and port (tracking.listen) and
 * the load goes there, as a deployment with tracking.listen would receive it.
 * The load generator, the sink and Estafeta share this machine's CPUs: compare within a run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import PostalMime from 'postal-mime';
import { startSimDns } from '../src/sim/dns-server.ts';
import { countUnapplied } from '../src/events/index.ts';
import { fastRetryPolicyDir, startTestEstafeta, type TestEstafeta } from '../test/helpers/estafeta.ts';
import { freePort, startSink } from '../test/helpers/smtp-sink.ts';
import { csvTarget, HTML, TEXT } from './lib/content.ts';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cpuMs, machineCpuMs, sleep } from './lib/proc.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = option('recipients', 5000);
const RATE = option('rate', 10_000);
const WARM = option('warm', 500);
const CONNECTIONS = option('connections', 50);
const json = args.includes('--json');
const THREAD = args.includes('--thread');
const say = (s: string) => {
  if (!json) process.stderr.write(s + '\n');
};

const DOMAIN = 'sink.bench';
const MX = '127.0.0.1';
const SESSIONS = 20;
// The benchmark's 10 KB content with two tracked links (the unsubscribe link is not tracked).
const TRACKED_HTML = HTML.replace('</table>', '<tr><td><a href="https://shop.example/sale?c={{ city }}">The sale</a> · <a href="https://shop.example/new">New in</a></td></tr>\n</table>');

async function main() {
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: DOMAIN, type: 'MX', exchange: `mx.${DOMAIN}`, priority: 10 }, { name: `mx.${DOMAIN}`, type: 'A', address: MX }] });
  const sink = await startSink(MX, port);
  // The bench's From domain has no DKIM key, DMARC record or https public URL (loopback): raise
  // the bulk-sender threshold so the analysis's compliance lines stay warnings, not errors.
  const policy = fastRetryPolicyDir({ 'compliance.yaml': 'bulkRecipients: 100000000\n', 'mx-rules.yaml': `rules:\n  - { name: bench-sink, mx: ["*.${DOMAIN}"], maxConnections: ${SESSIONS}, maxMessagesPerConnection: 1000, maxReady: 4000 }\n  - { name: default, mx: ["*"] }\n` });
  const e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port }, policy: { dir: policy }, ...(THREAD ? { tracking: { listen: { host: '127.0.0.1', port: 0 } } } : {}) });
  const result: Record<string, unknown> = { recipients: N, targetRate: RATE, connections: CONNECTIONS * 2, trackingThread: THREAD, machine: { cpus: cpus().length, node: process.version } };
  let trackingBase = e.app.url!;
  const clients: ChildProcess[] = [];
  try {
    say(`warm-up: a delivery of ${WARM} to collect signed tracking URLs`);
    const warm = await send(e, 'warm-up', WARM);
    await untilProcessed(e, warm, WARM);
    const pixels: string[] = [];
    const links: string[] = [];
    for (const m of sink.received) {
      const html = (await PostalMime.parse(m.raw)).html ?? '';
      for (const [, url] of html.matchAll(/(?:href|src)="([^"]+\/t\/[oc]\/[^"]+)"/g)) {
        (url.includes('/t/o/') ? pixels : links).push(new URL(url).pathname);
        trackingBase = new URL(url).origin;
      }
    }
    sink.received.length = 0;
    if (!pixels.length || !links.length) throw new Error('no tracking URL in the received messages');
    result.trackingUrls = { pixels: pixels.length, links: links.length };

    say(`without load: a delivery of ${N}`);
    const quiet = await timedDelivery(e, 'without load', N);
    sink.received.length = 0;
    result.withoutLoad = quiet;

    const dir = mkdtempSync(join(tmpdir(), 'estafeta-tracking-load-'));
    writeFileSync(join(dir, 'pixels'), pixels.join('\n'));
    writeFileSync(join(dir, 'links'), links.join('\n'));
    say(`with load: ${RATE} requests/s target on the pixel and the links, then a delivery of ${N}`);
    const outputs = [join(dir, 'pixels'), join(dir, 'links')].map((file) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'lib/tracking-load-client.ts'), trackingBase, String(RATE / 2), String(CONNECTIONS), file], { stdio: ['ignore', 'pipe', 'inherit'] });
      clients.push(child);
      let out = '';
      child.stdout!.on('data', (c) => (out += c));
      return new Promise<Record<string, unknown>>((resolve, reject) => child.on('exit', () => (out ? resolve(JSON.parse(out)) : reject(new Error('the load client printed nothing')))));
    });
    await sleep(2000);
    const loaded = await timedDelivery(e, 'with load', N);
    result.loadClientsCpuMs = clients.map((c) => cpuMs(c.pid!));
    for (const c of clients) c.kill('SIGTERM');
    const [pixel, redirect] = await Promise.all(outputs);
    const loadStopped = Date.now();
    result.withLoad = loaded;
    result.pixel = pixel;
    result.redirect = redirect;
    result.requestsPerSecond = Number(pixel.perSecond) + Number(redirect.perSecond);
    result.sendingSlowdownPercent = Math.round((1 - loaded.messagesPerSecond / quiet.messagesPerSecond) * 1000) / 10;

    // Clicks wait a burst window (1 s) before they are written; then the feedback service counts them.
    await sleep(1500);
    const answered = (s: unknown, code: string) => Number((s as Record<string, number>)[code] ?? 0);
    const events = await e.app.db.kysely.selectFrom('events').select((eb) => ['type', eb.fn.countAll<number>().as('n')]).where('delivery_id', '=', warm).where('type', 'in', ['opened', 'clicked']).groupBy('type').execute();
    const stored = (t: string) => Number(events.find((r) => r.type === t)?.n ?? 0);
    result.events = {
      opensAnswered: answered(pixel.statuses, '200'),
      opensWritten: stored('opened'),
      clicksAnswered: answered(redirect.statuses, '302'),
      clicksWritten: stored('clicked'),
      // Answered but not stored. autocannon does not count the answers still in flight when it
      // stops (up to one per connection), so more can be stored than it saw answered.
      dropped: Math.max(0, answered(pixel.statuses, '200') + answered(redirect.statuses, '302') - stored('opened') - stored('clicked')),
    };
    while ((await countUnapplied(e.app.db.kysely)) > 0) await sleep(100);
    result.feedbackCaughtUpMsAfterLoad = Date.now() - loadStopped;
    const kpis = (await e.api('GET', `/deliveries/${warm}/kpis`)).body;
    result.warmUpKpis = { opens: kpis.opens, uniqueOpens: kpis.uniqueOpens, machineOpens: kpis.machineOpens, clicks: kpis.clicks, uniqueClicks: kpis.uniqueClicks, machineClicks: kpis.machineClicks };
  } finally {
    for (const c of clients) if (c.exitCode === null) c.kill('SIGTERM');
    await e.stop();
    await sink.stop();
    await dns.stop();
  }
  process.stdout.write(json ? JSON.stringify(result) + '\n' : JSON.stringify(result, null, 2) + '\n');
}

async function send(e: TestEstafeta, label: string, n: number): Promise<number> {
  const created = await e.api('POST', '/deliveries', { label, from: { name: 'Shop', address: 'news@shop.example' }, subject: 'Autumn, {{ firstName }}', html: TRACKED_HTML, text: TEXT, validity: '1h' });
  if (created.status !== 201) throw new Error(`create: ${JSON.stringify(created.body)}`);
  const id = created.body.id as number;
  const imported = await e.api('PUT', `/deliveries/${id}/recipients`, csvTarget(n, DOMAIN), 'text/csv');
  if (imported.status !== 200) throw new Error(`import: ${JSON.stringify(imported.body)}`);
  const analysis = await e.api('POST', `/deliveries/${id}/analyze`);
  if (analysis.status !== 200 || analysis.body.errors) throw new Error(`analysis: ${JSON.stringify(analysis.body.lines ?? analysis.body)}`);
  const confirmed = await e.api('POST', `/deliveries/${id}/confirm`);
  if (confirmed.status !== 200) throw new Error(`confirm: ${JSON.stringify(confirmed.body)}`);
  return id;
}

async function untilProcessed(e: TestEstafeta, id: number, n: number): Promise<void> {
  const until = Date.now() + 600_000;
  while (Date.now() < until) {
    const k = (await e.api('GET', `/deliveries/${id}/kpis`)).body;
    if (k.processed >= n) return;
    await sleep(100);
  }
  throw new Error(`delivery ${id} not processed in 10 minutes`);
}

/** From confirmation until every log is final (Sent), as the API shows it. */
async function timedDelivery(e: TestEstafeta, label: string, n: number) {
  const t0 = Date.now();
  const id = await send(e, label, n);
  const confirmedAt = Date.now();
  const [cpu0, machine0] = [cpuMs(process.pid), machineCpuMs()];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  await untilProcessed(e, id, n);
  loop.disable();
  const ms = Date.now() - confirmedAt;
  const k = (await e.api('GET', `/deliveries/${id}/kpis`)).body;
  return {
    sent: k.sent,
    failed: k.processed - k.sent,
    prepareMs: confirmedAt - t0,
    sendMs: ms,
    messagesPerSecond: Math.round((n / ms) * 1000 * 10) / 10,
    // Estafeta's process (with the in-process sink) and the whole machine, while sending.
    estafetaCpuPercent: Math.round(((cpuMs(process.pid) - cpu0) / ms) * 100),
    machineBusyPercent: Math.round(((machineCpuMs() - machine0) / ms / cpus().length) * 100),
    eventLoopDelayMs: { p50: Math.round(loop.percentile(50) / 1e6), p99: Math.round(loop.percentile(99) / 1e6), max: Math.round(loop.max / 1e6) },
  };
}

await main();
