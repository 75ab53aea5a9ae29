/**
 * `npx tsx bench/send-api.ts [--messages N] [--batch B] [--concurrency C] [--singles M] [--single-concurrency SC] [--warmup-singles W] [--mx-rate R] [--no-dkim] [--json]`
 *
 * The send API's acceptance rate (issue 17: at least 2,000 messages a second through the
 * batch form, 500 single calls a second). Starts a whole Estafeta in this process (all
 * roles: the MTA sends while the API accepts), on SQLite by default or PostgreSQL with
 * DATABASE_URL, with an RSA-2048 DKIM key for the sender domain, a loopback DNS and an
 * sink as the recipients' MX: Postfix's smtp-sink in a process of its own when installed (an
 * smtp-server sink in this process otherwise, which takes the main thread's time too). Sends N messages of about 4 KB (HTML + text, one
 * recipient each) as batches of B, C calls in flight, and times from the first call to the
 * last answer: every answered message is durably in the spool with its log. Then W (1,000)
 * single calls, not timed, so that the route's code is compiled, and M single
 * POST /messages calls from autocannon in its own process, SC (20) connections. Prints messages a second accepted both ways, and how
 * long the MTA took to deliver every batch message to the sink. With --mx-rate R the sink's MX
 * gets an MX rule of its own, 10 connections and R messages a minute (without it, the default
 * rule, which sets no rate: docs/SHAPING.md says how that parks a backlog).
 */
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { startSimDns } from '../src/sim/dns-server.ts';
import { fastRetryPolicyDir, startTestEstafeta } from '../test/helpers/estafeta.ts';
import { LogStatus } from '../src/deliveries/index.ts';
import { startBenchSink } from './lib/bench-sink.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = option('messages', 10_000);
const B = option('batch', 500);
const C = option('concurrency', 4);
const M = option('singles', 2000);
const SC = option('single-concurrency', 20);
const W = option('warmup-singles', 1000);
const MX_RATE = option('mx-rate', 0);
const MX = '127.0.3.77';

const dns = await startSimDns({ port: 0, records: [{ name: 'bench.test', type: 'MX', exchange: 'mx.bench.test', priority: 10 }, { name: 'mx.bench.test', type: 'A', address: MX }] });
// An in-process sink parsed every delivered message on the main thread that takes the calls.
const mx = await startBenchSink(MX);
const { port, inProcess: sink } = mx;
const mxRule = MX_RATE > 0 ? { policy: { dir: fastRetryPolicyDir({ 'mx-rules.yaml': JSON.stringify({ rules: [{ name: 'bench', mx: ['mx.bench.test'], maxConnections: 10, messagesPerMinute: MX_RATE }] }) }) } } : {};
const e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port }, ...mxRule });
try {
  const dkim = !args.includes('--no-dkim');
  if (dkim && (await e.api('POST', '/dkim/keys', { domain: 'app.example', selector: 'bench' })).status !== 201) throw new Error('DKIM key not created');
  const stream = (await e.api('POST', '/streams', { name: 'bench', fromDomains: ['app.example'], tracking: false })).body;
  const html = `<html><body>${'<p>Your receipt, line by line, with the amounts and the totals you asked for.</p>\n'.repeat(30)}</body></html>`;
  const text = 'Your receipt, line by line, with the amounts and the totals you asked for.\n'.repeat(20);
  const message = (i: number) => ({ stream: stream.id, from: 'receipts@app.example', to: [`r${i}@bench.test`], subject: `Receipt ${i}`, html, text, metadata: { order: i } });
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${e.app.url}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${e.adminKey}` }, body: JSON.stringify(body) });
    const json = await res.json();
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const pool = async (count: number, run: (i: number) => Promise<void>, width = C) => {
    let next = 0;
    await Promise.all(Array.from({ length: width }, async () => {
      for (let i = next++; i < count; i = next++) await run(i);
    }));
  };

  const batches = Math.ceil(N / B);
  let accepted = 0;
  const t0 = performance.now();
  await pool(batches, async (b) => {
    const messages = Array.from({ length: Math.min(B, N - b * B) }, (_, k) => message(b * B + k));
    const r = await post('/messages/batch', { messages });
    accepted += r.accepted;
  });
  const batchSeconds = (performance.now() - t0) / 1000;
  // Counted by the logs the feedback service marked Sent (smtp-sink keeps no count).
  const sent = async () => sink ? sink.received.length : Number((await e.app.db.kysely.selectFrom('delivery_logs').select((eb) => eb.fn.countAll().as('n')).where('delivery_id', '=', stream.id).where('status', '=', LogStatus.Sent).executeTakeFirstOrThrow()).n);
  while ((await sent()) < accepted && performance.now() - t0 < 600_000) await new Promise((r) => setTimeout(r, 50));
  const deliveredSeconds = (performance.now() - t0) / 1000;
  const received = await sent();

  // The single calls come from autocannon in a process of its own: a client in this process
  // took about a third of its CPU and capped the rate it measured.
  // Untimed first: the single route's first second ran at two thirds of its later rate
  // (V8 still compiling it), which a run of 4,000 calls counted in full.
  if (W > 0 && M > 0) await runSingles(e.app.url!, e.adminKey!, SC, W, { ...message(0), to: undefined }, 'w');
  // --singles 0: the batch form alone.
  const single = M > 0 ? await runSingles(e.app.url!, e.adminKey!, SC, M, { ...message(0), to: undefined }) : { calls: 0, seconds: 0, perSecond: 0, latencyMs: { p50: 0, p99: 0, max: 0 }, statuses: {}, errors: 0 };
  const singleSeconds = single.seconds;
  const singleOk = Number((single.statuses as Record<string, number>)['200'] ?? 0);
  if (singleOk !== M) throw new Error(`single calls: ${singleOk} of ${M} answered 200 (${JSON.stringify(single.statuses)}, ${single.errors} errors)`);

  const result = {
    database: e.app.db.dialect,
    dkim: dkim ? 'rsa-sha256 2048' : 'none',
    mxRatePerMinute: MX_RATE || null,
    loadAverage: Math.round(loadavg()[0] * 10) / 10,
    messages: N,
    batch: B,
    concurrency: C,
    accepted,
    batchSeconds: Math.round(batchSeconds * 100) / 100,
    acceptedPerSecondBatch: Math.round(accepted / batchSeconds),
    deliveredToSink: received,
    allDeliveredSeconds: Math.round(deliveredSeconds * 100) / 100,
    warmupSingles: W,
    singles: M,
    singleConcurrency: SC,
    singlePerSecond: M > 0 ? Math.round(M / singleSeconds) : null,
    singleLatencyMs: single.latencyMs,
  };
  if (args.includes('--json')) console.log(JSON.stringify(result));
  else {
    console.log(`send API on ${result.database}: ${N} messages of ~${Math.round((html.length + text.length) / 1024)} KB, batches of ${B}, ${C} calls in flight, DKIM ${result.dkim}, load average ${result.loadAverage} on ${availableParallelism()} cores`);
    console.log(`  batch form:   ${accepted} accepted in ${result.batchSeconds} s = ${result.acceptedPerSecondBatch} msg/s (durable in the spool when answered)`);
    console.log(`  MTA:          ${received} delivered to the sink ${result.allDeliveredSeconds} s after the first call`);
    if (M > 0) console.log(`  single calls: ${M} (${SC} in flight, autocannon in its own process, after ${W} untimed) in ${singleSeconds} s = ${result.singlePerSecond} calls/s, p50 ${single.latencyMs.p50} ms, p99 ${single.latencyMs.p99} ms`);
  }
} finally {
  await e.stop();
  await mx.stop();
  await dns.stop();
}

interface SinglesResult { calls: number; seconds: number; perSecond: number; latencyMs: { p50: number; p99: number; max: number }; statuses: Record<string, number>; errors: number }

/** Runs bench/lib/send-api-client.ts and returns what it printed. */
function runSingles(base: string, key: string, connections: number, amount: number, message: unknown, prefix = 's'): Promise<SinglesResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'lib/send-api-client.ts'), base, key, String(connections), String(amount), JSON.stringify(message), prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as SinglesResult) : reject(new Error(`send-api-client exited with ${code}`))));
  });
}
