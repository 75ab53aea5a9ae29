/**
 * `npx tsx bench/pg-statements.ts [--recipients N] [--json] [--top K] [--no-dkim]`
 *
 * Counts the SQL statements Estafeta sends to PostgreSQL per delivered message, on the same
 * delivery as `npm run bench`'s PostgreSQL step with one node (N personalized 10 KB messages,
 * DKIM RSA-2048, every role in one process, a local smtp-sink): from the confirmation until
 * the delivery is Finished, so composing and spooling, claiming, outcomes, events, feedback and
 * the benchmark's own polling of `GET /deliveries/:id` every 100 ms. Counts, unlike times, do
 * not move with the machine's load, so they compare between runs on a shared machine.
 *
 * The counts come from pg_stat_statements, which must be preloaded by the server: this starts
 * a private PostgreSQL 15 for the run (Debian's initdb and pg_ctl in a temporary folder,
 * fsync and synchronous_commit on, on a free loopback port; run as root it runs the server as
 * the postgres user), and removes it at the end. The machine's own server is not touched.
 * Prints statements and rows per message, by part of the pipeline (classified by the tables
 * a statement names), and the top K statements by calls; also the CPU per message of the
 * Estafeta process and of the server's backends (one run is noisy: bench/run.ts is the
 * reference for CPU).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startSimDns } from '../src/sim/dns-server.ts';
import { csvTarget, HTML, TEXT } from './lib/content.ts';
import { startEstafetaChild } from './lib/estafeta-child.ts';
import { createBenchSchema } from './lib/postgres-schema.ts';
import { cpuMs, freePort, settle, sleep, startDaemon, stopDaemon, threadCpuMs } from './lib/proc.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = option('recipients', 5_000);
const TOP = option('top', 30);
const SESSIONS = 20;
const SINK_DOMAIN = 'sink.bench';
// The same policy as bench/run.ts.
const POLICY = {
  'compliance.yaml': 'bulkRecipients: 1000000000\n',
  'mx-rules.yaml': `rules:\n  - { name: bench-sink, mx: ["*.${SINK_DOMAIN}"], maxConnections: ${SESSIONS}, maxMessagesPerConnection: 1000, maxReady: 4000 }\n  - { name: default, mx: ["*"] }\n`,
};
const say = (s: string) => {
  if (!flag('json')) process.stderr.write(s + '\n');
};

/** Which part of the pipeline a statement belongs to, from the tables it names. */
const PARTS: [string, RegExp][] = [
  ['transaction control', /^\s*(begin|commit|rollback|savepoint|release|set )/i],
  ['spool (mta_queue, mta_bodies)', /\bmta_queue\b|\bmta_bodies\b/i],
  ['events', /\bevents\b/i],
  ['delivery logs', /\bdelivery_logs\b/i],
  ['counters', /\bdelivery_counters\b/i],
  ['deliveries', /\bdeliveries\b/i],
  ['MTA coordination and shaping (mta_*)', /\bmta_/i],
];

function partOf(query: string): string {
  for (const [name, re] of PARTS) if (re.test(query)) return name;
  return 'other';
}

/** Collapses parameter lists so that `in ($1, $2, $3)` of any length counts as one statement. */
function collapse(query: string): string {
  return query
    .replace(/\s+/g, ' ')
    .replace(/\$\d+/g, '$')
    .replace(/\$(?:\s*,\s*\$)+/g, '$…')
    .replace(/\(\$…\)(?:\s*,\s*\(\$…\))+/g, '($…)…')
    .trim();
}

const pgBin = (name: string) => {
  for (const v of ['17', '16', '15']) {
    const p = `/usr/lib/postgresql/${v}/bin/${name}`;
    if (existsSync(p)) return p;
  }
  throw new Error(`${name} not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)`);
};

/** A private server with pg_stat_statements preloaded; its URL and how to stop it. */
async function startPrivatePostgres(): Promise<{ url: string; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-pgstat-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const asRoot = process.getuid?.() === 0;
  const as = (cmd: string, a: string[]) => (asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...a], { stdio: 'pipe' }) : execFileSync(cmd, a, { stdio: 'pipe' }));
  if (asRoot) {
    chmodSync(dir, 0o711);
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(data, uid, gid);
  }
  const port = await freePort();
  as(pgBin('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions']);
  const settings = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${data} -c max_connections=100 -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.max=10000 -c pg_stat_statements.track=all -c pg_stat_statements.track_planning=on`;
  as(pgBin('pg_ctl'), ['-D', data, '-l', join(data, 'server.log'), '-w', '-o', settings, 'start']);
  const stop = () => {
    try {
      as(pgBin('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await c.connect();
    await c.query('create database bench');
    await c.end();
    const b = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/bench` });
    await b.connect();
    await b.query('create extension pg_stat_statements');
    await b.end();
  } catch (err) {
    stop();
    throw err;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/bench`, stop };
}

interface Row {
  query: string;
  calls: number;
  rows: number;
  /** Executing, and planning (pg_stat_statements.track_planning), in milliseconds. */
  ms: number;
  planMs: number;
}

async function main() {
  const server = await startPrivatePostgres();
  const sinkPort = await freePort();
  const sink = startDaemon('/usr/sbin/smtp-sink', ['-u', 'postfix', `127.0.0.1:${sinkPort}`, '1024']);
  const dns = await startSimDns({ port: 0, records: [{ name: SINK_DOMAIN, type: 'MX', exchange: `mx.${SINK_DOMAIN}`, priority: 10 }, { name: `mx.${SINK_DOMAIN}`, type: 'A', address: '127.0.0.1' }] });
  const schema = await createBenchSchema(server.url);
  const stats = new pg.Client({ connectionString: server.url, application_name: 'pg-statements-bench' });
  await stats.connect();
  try {
    const e = await startEstafetaChild({ dnsServer: `127.0.0.1:${dns.port}`, mxPort: sinkPort, policyFiles: POLICY, databaseUrl: schema.url, roles: ['api', 'sender', 'feedback', 'inbound', 'mta'] });
    try {
      if (!flag('no-dkim')) await e.api('POST', '/dkim/keys', { domain: 'shop.bench', selector: 'bench1', algorithm: 'rsa-sha256' });
      const d0 = await e.api('POST', '/deliveries', { label: 'bench', from: { name: 'Bench Shop', address: 'news@shop.bench' }, subject: 'Hello {{ firstName }}, the autumn selection', html: HTML, text: TEXT, recipientsCsv: csvTarget(N, SINK_DOMAIN) });
      await e.api('POST', `/deliveries/${d0.id}/analyze`);
      await settle();
      say(`PostgreSQL statements per message: a delivery of ${N}, one node, ${flag('no-dkim') ? 'no DKIM' : 'DKIM RSA-2048'}`);
      await stats.query('select pg_stat_statements_reset()');
      const backends = schema.trackBackends();
      const cpu0 = cpuMs(e.pid);
      const main0 = threadCpuMs(e.pid);
      const t0 = performance.now();
      await e.api('POST', `/deliveries/${d0.id}/confirm`);
      let d;
      for (;;) {
        d = await e.api('GET', `/deliveries/${d0.id}`);
        if (['finished', 'failed', 'stopped'].includes(d.state)) break;
        await sleep(100);
      }
      const seconds = (performance.now() - t0) / 1000;
      const cpu = cpuMs(e.pid) - cpu0;
      const mainThread = threadCpuMs(e.pid) - main0;
      const database = await backends.stop();
      if (d.kpis.sent !== N) throw new Error(`expected ${N} sent, got ${JSON.stringify(d.kpis)}`);
      const { rows } = await stats.query(
        `select query, calls::float8 as calls, rows::float8 as rows, total_exec_time as ms, total_plan_time as "planMs"
           from pg_stat_statements s join pg_database db on db.oid = s.dbid
          where db.datname = current_database() and query not like '%pg_stat_statements%' and query not like '%pg_stat_activity%'`,
      );
      const merged = new Map<string, Row>();
      for (const r of rows as Row[]) {
        const key = collapse(r.query);
        const m = merged.get(key) ?? merged.set(key, { query: key, calls: 0, rows: 0, ms: 0, planMs: 0 }).get(key)!;
        m.calls += r.calls;
        m.rows += r.rows;
        m.ms += r.ms;
        m.planMs += r.planMs;
      }
      const all = [...merged.values()].sort((a, b) => b.calls - a.calls);
      const per = (x: number) => Math.round((x / N) * 1000) / 1000;
      const byPart = new Map<string, { statements: number; rows: number; ms: number }>();
      for (const r of all) {
        const p = byPart.get(partOf(r.query)) ?? byPart.set(partOf(r.query), { statements: 0, rows: 0, ms: 0 }).get(partOf(r.query))!;
        p.statements += r.calls;
        p.rows += r.rows;
        p.ms += r.ms;
      }
      const total = all.reduce((s, r) => s + r.calls, 0);
      const result = {
        recipients: N,
        dkim: flag('no-dkim') ? null : 'rsa-sha256 2048',
        loadAverage: (await import('node:os')).loadavg().map((x) => Math.round(x * 100) / 100),
        messagesPerSecond: Math.round(N / seconds),
        statementsPerMessage: per(total),
        rowsPerMessage: per(all.reduce((s, r) => s + r.rows, 0)),
        // Wall time in the server, lock waits included: not CPU.
        serverExecMsPerMessage: per(all.reduce((s, r) => s + r.ms, 0)),
        serverPlanMsPerMessage: per(all.reduce((s, r) => s + r.planMs, 0)),
        distinctStatements: all.length,
        byPart: Object.fromEntries([...byPart].sort((a, b) => b[1].statements - a[1].statements).map(([k, v]) => [k, { statementsPerMessage: per(v.statements), rowsPerMessage: per(v.rows), execMsPerMessage: per(v.ms) }])),
        cpuMsPerMessage: per(cpu),
        mainThreadCpuMsPerMessage: per(mainThread),
        databaseCpuMsPerMessage: database.backends ? per(database.cpuMs) : null,
        top: all.slice(0, TOP).map((r) => ({ callsPerMessage: per(r.calls), rowsPerCall: Math.round((r.rows / r.calls) * 10) / 10, execMs: Math.round(r.ms), planMs: Math.round(r.planMs), part: partOf(r.query), sql: r.query.slice(0, 240) })),
      };
      if (flag('json')) process.stdout.write(JSON.stringify(result) + '\n');
      else process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    } finally {
      await e.stop();
    }
  } finally {
    await stats.end().catch(() => {});
    await schema.drop().catch(() => {});
    await dns.stop();
    await stopDaemon(sink);
    server.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`pg-statements failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
