/**
 * `npm run bench [-- --json] [--recipients N] [--scale N] [--skip-postfix] [--skip-postgres] [--skip-scale]`
 *
 * Measures, in one run on this machine:
 *  1. the loopback ceiling: Postfix's smtp-source straight into smtp-sink;
 *  2. Postfix (Debian's, a private instance) relaying the same N messages of the same size to
 *     the same sink, from first injection to last delivery;
 *  3. Estafeta end to end: a delivery of N personalized 10 KB messages, DKIM-signed with
 *     RSA-2048, from confirmation until every delivery log is final, against the same sink,
 *     with its spool and logs in SQLite with synchronous commits; messages per second,
 *     feedback delay (the sink's 250 to the log's status committed, which is when the API
 *     shows it), peak memory and CPU time per message of the Estafeta process (all
 *     threads, and its main thread alone);
 *  3b. the same delivery with the database on PostgreSQL (a fresh schema in DATABASE_URL's
 *     database, or the machine's server at 127.0.0.1:5432/test): one node with every role,
 *     then two processes sharing the schema, one with api,sender,feedback,inbound,mta and one
 *     with mta only; besides 3's figures, the CPU per message of both Estafeta processes and
 *     of the PostgreSQL backends that served their connections (from /proc);
 *  4. a scale run: one delivery of a million recipients: import and analysis time, peak
 *     memory while sending, and the time of the KPI and log-listing API calls at that size.
 * For 1 to 3 it also prints the whole machine's CPU time per message (every process: the
 * sink, Postfix's daemons, smtp-source, Estafeta), so the contenders' costs compare on a
 * machine whose speed moves from run to run.
 * Prints the figures as indented JSON, or as one line with --json.
 */
import { startSimDns } from '../src/sim/dns-server.ts';
import { csvTarget, HTML, TEXT } from './lib/content.ts';
import { startEstafetaChild, type EstafetaChild } from './lib/estafeta-child.ts';
import { cpuMs, freePort, machineCpuMs, memoryMb, percentile, run, settle, sleep, startDaemon, stopDaemon, threadCpuMs, threadsCpuMs } from './lib/proc.ts';
import { postfixAvailable, startPostfixRelay } from './lib/postfix-relay.ts';
import { createBenchSchema, postgresMissing } from './lib/postgres-schema.ts';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = option('recipients', 50_000);
const SCALE = option('scale', 1_000_000);
const SESSIONS = 20;
const SIZE = 10 * 1024;
const json = flag('json');
const say = (s: string) => {
  if (!json) process.stderr.write(s + '\n');
};

const SINK_DOMAIN = 'sink.bench';
const POLICY = {
  // The sink's domains publish no SPF, DKIM or DMARC records: the bulk-sender gate (which
  // would refuse to confirm 5,000 recipients or more) is set out of reach, its checks stay warnings.
  'compliance.yaml': 'bulkRecipients: 1000000000\n',
  'mx-rules.yaml': `rules:\n  - { name: bench-sink, mx: ["*.${SINK_DOMAIN}"], maxConnections: ${SESSIONS}, maxMessagesPerConnection: 1000, maxReady: 4000 }\n  - { name: default, mx: ["*"] }\n`,
};

async function main() {
  const sinkPort = await freePort();
  const sink = startDaemon('/usr/sbin/smtp-sink', ['-u', 'postfix', `127.0.0.1:${sinkPort}`, '1024']);
  await sleep(300);
  const dns = await startSimDns({ port: 0, records: [{ name: SINK_DOMAIN, type: 'MX', exchange: `mx.${SINK_DOMAIN}`, priority: 10 }, { name: `mx.${SINK_DOMAIN}`, type: 'A', address: '127.0.0.1' }] });
  const result: Record<string, unknown> = { recipients: N, messageBytes: SIZE, sessions: SESSIONS, machine: { cpus: (await import('node:os')).cpus().length, node: process.version } };
  try {
    say(`loopback ceiling: smtp-source -> smtp-sink, ${N} messages of ${SIZE} bytes, ${SESSIONS} sessions`);
    await settle();
    const machine0 = machineCpuMs();
    const ceiling = await run('/usr/sbin/smtp-source', ['-s', String(SESSIONS), '-m', String(N), '-l', String(SIZE), '-f', 'from@bench.test', '-t', `to@${SINK_DOMAIN}`, `127.0.0.1:${sinkPort}`]);
    result.loopbackCeilingPerSecond = Math.round(N / (ceiling.ms / 1000));
    result.loopbackMachineCpuMsPerMessage = perMessage(machineCpuMs() - machine0);

    if (!flag('skip-postfix')) {
      const missing = postfixAvailable();
      if (missing) say(`postfix skipped: ${missing}`);
      else {
        say(`Postfix relay: ${N} messages injected with smtp-source, relayed to the sink`);
        Object.assign(result, await postfixRun(sinkPort));
      }
    }

    say(`Estafeta end to end: a delivery of ${N} personalized messages, DKIM RSA-2048, SQLite synchronous commits`);
    const e = await startEstafetaChild({ dnsServer: `127.0.0.1:${dns.port}`, mxPort: sinkPort, policyFiles: POLICY });
    try {
      Object.assign(result, await endToEnd(e));
    } finally {
      await e.stop();
    }
    if (!flag('skip-postgres')) {
      const missing = await postgresMissing();
      if (missing) say(`PostgreSQL skipped: ${missing}`);
      else {
        const postgres: Record<string, unknown> = { databaseCpu: 'CPU time of the PostgreSQL backend processes serving the run\'s connections (/proc/PID/stat), not the shared WAL writer, checkpointer or autovacuum' };
        say(`Estafeta end to end on PostgreSQL, one node: ${FIRST_NODE_ROLES.join(',')}`);
        postgres.oneNode = await postgresRun(`127.0.0.1:${dns.port}`, sinkPort, 1);
        say(`Estafeta end to end on PostgreSQL, two nodes: api,sender,feedback,inbound,mta + mta`);
        postgres.twoMtaNodes = await postgresRun(`127.0.0.1:${dns.port}`, sinkPort, 2);
        const rate = (k: string) => (postgres[k] as { messagesPerSecond: number }).messagesPerSecond;
        postgres.oneNodeVsSqlite = Math.round((rate('oneNode') / (result.messagesPerSecond as number)) * 100) / 100;
        postgres.twoMtaNodesVsOneNode = Math.round((rate('twoMtaNodes') / rate('oneNode')) * 100) / 100;
        if (result.postfixMessagesPerSecond) postgres.oneNodeVsPostfix = Math.round((rate('oneNode') / (result.postfixMessagesPerSecond as number)) * 100) / 100;
        result.postgres = postgres;
      }
    }
    if (result.postfixMessagesPerSecond) {
      result.ratioVsPostfix = Math.round(((result.messagesPerSecond as number) / (result.postfixMessagesPerSecond as number)) * 100) / 100;
      // Machine CPU per message, Postfix's over Estafeta's: steadier than the rates when the
      // machine's speed moves between the two steps of the run.
      result.machineCpuRatioVsPostfix = Math.round(((result.postfixMachineCpuMsPerMessage as number) / (result.machineCpuMsPerMessage as number)) * 100) / 100;
    }

    if (!flag('skip-scale')) {
      say(`scale run: one delivery of ${SCALE} recipients`);
      const e2 = await startEstafetaChild({ dnsServer: `127.0.0.1:${dns.port}`, mxPort: sinkPort, policyFiles: POLICY });
      try {
        result.scale = await scaleRun(e2);
      } finally {
        await e2.stop();
      }
    }
  } finally {
    await dns.stop();
    await stopDaemon(sink);
  }
  if (json) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

async function postfixRun(sinkPort: number): Promise<Record<string, number>> {
  const port = await freePort();
  const relay = startPostfixRelay(port, sinkPort, SESSIONS);
  try {
    await sleep(1500);
    await settle();
    const machine0 = machineCpuMs();
    const t0 = performance.now();
    await run('/usr/sbin/smtp-source', ['-s', String(SESSIONS), '-m', String(N), '-l', String(SIZE), '-f', 'from@bench.test', '-t', `to@${SINK_DOMAIN}`, `127.0.0.1:${port}`]);
    while (relay.delivered() < N) await sleep(250);
    const seconds = (performance.now() - t0) / 1000;
    return { postfixMessagesPerSecond: Math.round(N / seconds), postfixMachineCpuMsPerMessage: perMessage(machineCpuMs() - machine0) };
  } finally {
    relay.stop();
  }
}

async function createDelivery(e: EstafetaChild, n: number, label: string): Promise<number> {
  const d = await e.api('POST', '/deliveries', { label, from: { name: 'Bench Shop', address: 'news@shop.bench' }, subject: 'Hello {{ firstName }}, the autumn selection', html: HTML, text: TEXT, recipientsCsv: csvTarget(n, SINK_DOMAIN) });
  return d.id;
}

async function waitState(e: EstafetaChild, id: number, states: string[], everyMs = 200): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  for (;;) {
    const d = await e.api('GET', `/deliveries/${id}`);
    if (states.includes(d.state)) return d;
    await sleep(everyMs);
  }
}

const FIRST_NODE_ROLES = ['api', 'sender', 'feedback', 'inbound', 'mta'];

/** Step 3 on a fresh PostgreSQL schema, with `nodes` Estafeta processes (the second and later run the MTA only). */
async function postgresRun(dnsServer: string, mxPort: number, nodes: number): Promise<Record<string, unknown>> {
  const schema = await createBenchSchema();
  const started: EstafetaChild[] = [];
  try {
    // Each node sends from its own loopback address, so the events say which node sent what.
    started.push(await startEstafetaChild({ dnsServer, mxPort, policyFiles: POLICY, databaseUrl: schema.url, roles: FIRST_NODE_ROLES, localAddress: '127.0.0.1' }));
    for (let i = 1; i < nodes; i++) started.push(await startEstafetaChild({ dnsServer, mxPort, policyFiles: POLICY, databaseUrl: schema.url, roles: ['mta'], localAddress: `127.0.0.${i + 1}` }));
    const figures = await endToEnd(started[0], started.slice(1), schema);
    return { nodes, roles: [FIRST_NODE_ROLES.join(','), ...started.slice(1).map(() => 'mta')], ...figures, deliveredBySourceIp: await deliveredBySourceIp(schema.url) };
  } finally {
    for (const e of started.reverse()) await e.stop();
    await schema.drop();
  }
}

async function endToEnd(e: EstafetaChild, others: EstafetaChild[] = [], schema?: Awaited<ReturnType<typeof createBenchSchema>>): Promise<Record<string, unknown>> {
  if (!flag('no-dkim')) await e.api('POST', '/dkim/keys', { domain: 'shop.bench', selector: 'bench1', algorithm: 'rsa-sha256' });
  const id = await createDelivery(e, N, 'bench');
  await e.api('POST', `/deliveries/${id}/analyze`);
  await settle();
  const cpu0 = cpuMs(e.pid);
  const main0 = threadCpuMs(e.pid);
  const threads0 = threadsCpuMs(e.pid);
  const others0 = others.map((o) => cpuMs(o.pid));
  const backends = schema?.trackBackends();
  const machine0 = machineCpuMs();
  const t0 = performance.now();
  await e.api('POST', `/deliveries/${id}/confirm`).catch(async (err) => {
    // Say what the analysis found, not only that confirming was refused.
    throw new Error(`${err.message}\nanalysis: ${JSON.stringify((await e.api('GET', `/deliveries/${id}`)).analysis).slice(0, 2000)}`);
  });
  const d = await waitState(e, id, ['finished', 'failed', 'stopped'], 100);
  const seconds = (performance.now() - t0) / 1000;
  const database = await backends?.stop();
  const othersCpu = others.map((o, i) => cpuMs(o.pid) - others0[i]);
  const cpu = cpuMs(e.pid) - cpu0;
  const mainThread = threadCpuMs(e.pid) - main0;
  const threads = threadsCpuMs(e.pid);
  const machine = machineCpuMs() - machine0;
  if (d.kpis.sent !== N) throw new Error(`expected ${N} sent, got ${JSON.stringify(d.kpis)}`);
  const delays = e.dbFile ? feedbackDelays(e.dbFile) : await feedbackDelaysPostgres(e.databaseUrl);
  const perNode = others.length ? { allNodesCpuMsPerMessage: perMessage(cpu + othersCpu.reduce((a, b) => a + b, 0)), mtaOnlyNodesCpuMsPerMessage: othersCpu.map(perMessage) } : {};
  const db = database ? { databaseCpuMsPerMessage: database.backends ? perMessage(database.cpuMs) : null, databaseBackends: database.backends } : {};
  return {
    messagesPerSecond: Math.round(N / seconds),
    elapsedSeconds: Math.round(seconds * 10) / 10,
    feedbackP50Ms: percentile(delays, 50),
    feedbackP99Ms: percentile(delays, 99),
    peakRssMb: memoryMb(e.pid).peak,
    cpuMsPerMessage: perMessage(cpu),
    mainThreadCpuMsPerMessage: perMessage(mainThread),
    // By thread: main, estafeta-dkim (signing), estafeta-ckpt (SQLite checkpoints), node (V8's
    // garbage collector and compiler helpers, libuv's pool: file system, fsync, DNS).
    threadCpuMsPerMessage: Object.fromEntries([...threads].map(([name, ms]) => [name, perMessage(ms - (threads0.get(name) ?? 0))])),
    ...perNode,
    ...db,
    machineCpuMsPerMessage: perMessage(machine),
    dkim: flag('no-dkim') ? null : 'rsa-sha256 2048',
  };
}

/** Milliseconds of CPU per message of the N, to the microsecond. */
function perMessage(ms: number): number {
  return Math.round((ms / N) * 1000) / 1000;
}

/** Delay from the MX's 250 (the delivered event) to the log's new status being committed. */
function feedbackDelays(dbFile: string): number[] {
  const db = new BetterSqlite3(dbFile, { readonly: true });
  try {
    const rows = db.prepare("select applied_at - occurred_at as d from events where type = 'delivered' and applied_at is not null").all() as { d: number }[];
    return rows.map((r) => Number(r.d)).sort((a, b) => a - b);
  } finally {
    db.close();
  }
}

async function feedbackDelaysPostgres(url: string): Promise<number[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query("select applied_at - occurred_at as d from events where type = 'delivered' and applied_at is not null");
    return rows.map((r: { d: string | number }) => Number(r.d)).sort((a: number, b: number) => a - b);
  } finally {
    await c.end();
  }
}

async function deliveredBySourceIp(url: string): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query("select payload::json->>'sourceIp' as ip, count(*)::int as n from events where type = 'delivered' group by 1 order by 1");
    return Object.fromEntries(rows.map((r: { ip: string | null; n: number }) => [r.ip ?? 'unknown', r.n]));
  } finally {
    await c.end();
  }
}

async function timed<T>(fn: () => Promise<T>, times = 5): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return Math.round(ms.sort((a, b) => a - b)[Math.floor(times / 2)] * 10) / 10;
}

async function scaleRun(e: EstafetaChild): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const id = await createDelivery(e, SCALE, 'scale');
  const importSeconds = (performance.now() - t0) / 1000;
  const peakAfterImport = memoryMb(e.pid).peak;
  say(`  imported in ${importSeconds.toFixed(1)} s (peak ${peakAfterImport} MB); analyzing`);
  const t1 = performance.now();
  await e.api('POST', `/deliveries/${id}/analyze?wait=false`);
  const analyzed = await waitState(e, id, ['pending-confirmation', 'failed'], 500);
  const analysisSeconds = (performance.now() - t1) / 1000;
  if (analyzed.state !== 'pending-confirmation') throw new Error(`analysis failed: ${analyzed.lastError}`);
  const peakBeforeSending = memoryMb(e.pid).peak;
  say(`  analyzed in ${analysisSeconds.toFixed(1)} s; sending for 30 s`);
  await e.api('POST', `/deliveries/${id}/confirm`);
  let peakWhileSending = 0;
  const sendUntil = performance.now() + 30_000;
  while (performance.now() < sendUntil) {
    peakWhileSending = Math.max(peakWhileSending, memoryMb(e.pid).rss);
    await sleep(250);
  }
  const kpis = await e.api('GET', `/deliveries/${id}/kpis`);
  await e.api('POST', `/deliveries/${id}/pause`);
  const calls = {
    kpisMs: await timed(() => e.api('GET', `/deliveries/${id}/kpis`)),
    deliveryMs: await timed(() => e.api('GET', `/deliveries/${id}`)),
    logsFirstPageMs: await timed(() => e.api('GET', `/deliveries/${id}/logs?limit=100`)),
    logsDeepPageMs: await timed(() => e.api('GET', `/deliveries/${id}/logs?limit=100&after=${Math.floor(SCALE * 0.9)}`)),
    logsByStatusMs: await timed(() => e.api('GET', `/deliveries/${id}/logs?status=pending&limit=100`)),
    logsSearchMs: await timed(() => e.api('GET', `/deliveries/${id}/logs?q=user999999@&limit=100`), 3),
  };
  return {
    recipients: SCALE,
    importSeconds: Math.round(importSeconds * 10) / 10,
    analysisSeconds: Math.round(analysisSeconds * 10) / 10,
    peakRssMbAfterImport: peakAfterImport,
    peakRssMbBeforeSending: peakBeforeSending,
    peakRssMbWhileSending: peakWhileSending,
    sentIn30Seconds: kpis.sent,
    apiMs: calls,
  };
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
