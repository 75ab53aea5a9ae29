/**
 * `npx tsx bench/analysis-million.ts [--recipients N] [--events-per-log E] [--batch B] [--only sqlite|postgres] [--json]`
 *
 * Big tables on both databases, in one run (issue 16, item 5): for SQLite, then PostgreSQL
 * (a fresh schema of DATABASE_URL when it names PostgreSQL, else of
 * postgres://postgres@127.0.0.1:5432/test, dropped at the end), an Estafeta process with every
 * role (`estafeta start`, bench/lib/estafeta-child.ts) and:
 *  1. a delivery of N recipients (default 1,000,000) created with its CSV target through the
 *     API (POST /deliveries with recipientsCsv), timed;
 *  2. its analysis (POST /deliveries/:id/analyze?wait=false, polled until Pending
 *     confirmation): time, the process's peak RSS (VmHWM) after the import and after the
 *     analysis, and on PostgreSQL the CPU of the backends serving it;
 *  3. the purge of its logs and events: the delivery is made Finished 200 days ago and given
 *     E applied events per log (default 2, by one INSERT ... SELECT: setup, not timed as the
 *     purge), then purgeOldData (what `estafeta purge --older-than 180d` runs) deletes them in
 *     batches of B logs (default 2,000, the production default, with its 20 ms pause) from
 *     this process, while this process also reads the API of the running Estafeta: the time
 *     of `GET /deliveries/:id/kpis` (every 20 ms) and of `POST /deliveries` with one
 *     recipient (a write, every 200 ms), before the purge and during it, p50 / p99 / max.
 * Each batch's figure is the time of its transaction (its events, then its logs): how long it
 * holds its row locks on PostgreSQL, or SQLite's single write lock.
 * Nothing is sent: the delivery is never confirmed. Prints indented JSON, or one line with --json.
 */
import { loadavg } from 'node:os';
import { sql } from 'kysely';
import { startSimDns } from '../src/sim/dns-server.ts';
import { openDatabase } from '../src/db/index.ts';
import { DeliveryState } from '../src/deliveries/states.ts';
import { purgeOldData, retentionCutoffs } from '../src/retention/index.ts';
import { csvTarget, HTML, TEXT } from './lib/content.ts';
import { startEstafetaChild, type EstafetaChild } from './lib/estafeta-child.ts';
import { createBenchSchema, postgresMissing, type BenchSchema } from './lib/postgres-schema.ts';
import { cpuMs, freePort, memoryMb, percentile, settle, sleep } from './lib/proc.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const N = Number(option('recipients', '1000000'));
const EVENTS_PER_LOG = Number(option('events-per-log', '2'));
const BATCH = Number(option('batch', '2000'));
const ONLY = option('only', '');
const json = args.includes('--json');
const say = (s: string) => {
  if (!json) process.stderr.write(s + '\n');
};
const DOMAIN = 'big.bench';
// The bench domains publish no SPF, DKIM or DMARC: keep the bulk-sender gate's checks warnings.
const POLICY = { 'compliance.yaml': 'bulkRecipients: 1000000000\n' };
const DAY = 86_400_000;
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
const load = () => loadavg().map((l) => round(l, 2));

async function main() {
  const dns = await startSimDns({ port: 0, records: [] });
  const mxPort = await freePort();
  const result: Record<string, unknown> = { recipients: N, eventsPerLog: EVENTS_PER_LOG, batchLogs: BATCH, loadAverageAtStart: load() };
  try {
    if (ONLY !== 'postgres') {
      say(`SQLite: ${N} recipients`);
      const e = await startEstafetaChild({ dnsServer: `127.0.0.1:${dns.port}`, mxPort, policyFiles: POLICY });
      try {
        result.sqlite = await measure(e);
      } finally {
        await e.stop();
      }
    }
    if (ONLY !== 'sqlite') {
      const missing = await postgresMissing();
      if (missing) say(`PostgreSQL skipped: ${missing}`);
      else {
        say(`PostgreSQL: ${N} recipients`);
        const schema = await createBenchSchema();
        try {
          const e = await startEstafetaChild({ dnsServer: `127.0.0.1:${dns.port}`, mxPort, policyFiles: POLICY, databaseUrl: schema.url });
          try {
            result.postgres = await measure(e, schema);
          } finally {
            await e.stop();
          }
        } finally {
          await schema.drop();
        }
      }
    }
  } finally {
    await dns.stop();
  }
  result.loadAverageAtEnd = load();
  process.stdout.write(JSON.stringify(result, null, json ? undefined : 2) + '\n');
}

async function measure(e: EstafetaChild, schema?: BenchSchema): Promise<Record<string, unknown>> {
  await settle();
  const csv = csvTarget(N, DOMAIN);
  const backendsImport = schema?.trackBackends();
  const cpu0 = cpuMs(e.pid);
  const t0 = performance.now();
  const d = await e.api('POST', '/deliveries', { label: 'big', from: { name: 'Bench Shop', address: 'news@shop.bench' }, subject: 'Hello {{ firstName }}', html: HTML, text: TEXT, recipientsCsv: csv });
  const importSeconds = (performance.now() - t0) / 1000;
  const importCpu = cpuMs(e.pid) - cpu0;
  const importDb = await backendsImport?.stop();
  const id = d.id as number;
  const peakAfterImport = memoryMb(e.pid).peak;
  say(`  imported in ${importSeconds.toFixed(1)} s (peak ${peakAfterImport} MB); analyzing`);
  const backends = schema?.trackBackends();
  const cpu1 = cpuMs(e.pid);
  const t1 = performance.now();
  await e.api('POST', `/deliveries/${id}/analyze?wait=false`);
  let state: Record<string, unknown>;
  for (;;) {
    state = await e.api('GET', `/deliveries/${id}`);
    if (state.state === 'pending-confirmation' || state.state === 'failed') break;
    await sleep(250);
  }
  const analysisSeconds = (performance.now() - t1) / 1000;
  const analysisCpu = cpuMs(e.pid) - cpu1;
  const db = await backends?.stop();
  if (state.state !== 'pending-confirmation') throw new Error(`analysis failed: ${state.lastError}`);
  const peakAfterAnalysis = memoryMb(e.pid).peak;
  say(`  analyzed in ${analysisSeconds.toFixed(1)} s (peak ${peakAfterAnalysis} MB); purge`);
  const analysis = {
    importSeconds: round(importSeconds),
    // CPU seconds of the Estafeta process (all threads), and of the PostgreSQL backends serving it.
    importCpuSeconds: round(importCpu / 1000),
    ...(importDb ? { importDatabaseCpuSeconds: round(importDb.cpuMs / 1000) } : {}),
    analysisSeconds: round(analysisSeconds),
    analysisCpuSeconds: round(analysisCpu / 1000),
    ...(db ? { analysisDatabaseCpuSeconds: round(db.cpuMs / 1000) } : {}),
    peakRssMbAfterImport: peakAfterImport,
    peakRssMbAfterAnalysis: peakAfterAnalysis,
    loadAverage: load(),
  };
  return { ...analysis, purge: await purge(e, id) };
}

/** Makes the delivery old and final, gives its logs events, then purges it while timing the API. */
async function purge(e: EstafetaChild, id: number): Promise<Record<string, unknown>> {
  const db = await openDatabase(e.databaseUrl, { migrate: false });
  try {
    const old = Date.now() - 200 * DAY;
    const t0 = performance.now();
    await db.kysely.updateTable('deliveries').set({ state: DeliveryState.Finished, finished_at: old, updated_at: old }).where('id', '=', id).execute();
    for (let k = 0; k < EVENTS_PER_LOG; k++) {
      await sql`insert into events (key, type, log_id, delivery_id, occurred_at, payload, applied_at, created_at)
        select ${`b${k}.`} || id, ${k === 0 ? 'delivered' : 'opened'}, id, delivery_id, ${old}, '{}', ${old}, ${old} from delivery_logs where delivery_id = ${id}`.execute(db.kysely);
    }
    const setupSeconds = (performance.now() - t0) / 1000;
    const logs = Number((await sql<{ n: number }>`select count(*) as n from delivery_logs where delivery_id = ${id}`.execute(db.kysely)).rows[0].n);
    say(`  ${logs} logs, ${logs * EVENTS_PER_LOG} events written in ${setupSeconds.toFixed(1)} s; the API before the purge`);
    await settle();
    const before = await probeApi(e, id, () => sleep(10_000));
    say(`  purging in batches of ${BATCH}`);
    const batches: number[] = [];
    let report: Awaited<ReturnType<typeof purgeOldData>> | undefined;
    const during = await probeApi(e, id, async () => {
      report = await purgeOldData(db, { ...retentionCutoffs({ logs: '180d', events: 'off' }), batchSize: BATCH, onBatch: (b) => batches.push(b.ms) });
    });
    batches.sort((a, b) => a - b);
    return {
      setupSeconds: round(setupSeconds),
      logs: report!.logs,
      events: report!.events,
      seconds: round(report!.ms / 1000),
      rowsPerSecond: Math.round((report!.logs + report!.events) / (report!.ms / 1000)),
      batches: batches.length,
      batchMs: { p50: round(percentile(batches, 50)), p99: round(percentile(batches, 99)), max: round(batches[batches.length - 1] ?? 0) },
      apiBefore: before,
      apiDuring: during,
      loadAverage: load(),
    };
  } finally {
    await db.close();
  }
}

/** Times a read every 20 ms and a write every 200 ms while `work` runs. */
async function probeApi(e: EstafetaChild, id: number, work: () => Promise<unknown>): Promise<Record<string, unknown>> {
  let done = false;
  const reads: number[] = [];
  const writes: number[] = [];
  const loop = async (every: number, out: number[], call: () => Promise<unknown>) => {
    while (!done) {
      const t = performance.now();
      await call();
      out.push(performance.now() - t);
      await sleep(every);
    }
  };
  const probes = Promise.all([
    loop(20, reads, () => e.api('GET', `/deliveries/${id}/kpis`)),
    loop(200, writes, () => e.api('POST', '/deliveries', { label: 'probe', from: { name: 'Bench', address: 'news@shop.bench' }, subject: 'Hi', text: 'Hi', recipients: [{ email: 'probe@big.bench' }] })),
  ]);
  try {
    await work();
  } finally {
    done = true;
    await probes;
  }
  const figures = (ms: number[]) => {
    ms.sort((a, b) => a - b);
    return { n: ms.length, p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99)), max: round(ms[ms.length - 1] ?? 0) };
  };
  return { kpisReadMs: figures(reads), createDeliveryWriteMs: figures(writes) };
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
