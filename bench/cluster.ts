/**
 * `npx tsx bench/cluster.ts [--recipients N] [--json]` (as root): Estafeta's nodes as
 * separate hosts on one machine, all on one PostgreSQL.
 *
 * It makes a bridge in the root namespace and, with `ip netns add` and veth pairs, one network
 * namespace per host, on a /24 of the benchmarking range 198.18.0.0/15 (RFC 2544):
 *   .1   the bridge (root namespace): a private PostgreSQL (Debian's initdb + pg_ctl in a
 *        temporary folder, listening on this address only) and the simulator's DNS server;
 *   .10  the api node: roles api,sender,feedback,inbound;
 *   .11, .12  two MTA nodes (role mta), each sending from its own address (mta.localAddress);
 *   .20  the receiving MX: an smtp-server sink that counts messages per client address.
 * The namespaces have no default route, and the DNS server answers only the sink's names, so
 * nothing can be sent to an address that is not one of these hosts.
 *
 * It sends the same delivery as `npm run bench` (N personalized 10 KB messages, DKIM
 * RSA-2048) twice: first with one MTA node running, then with both; and prints for each the
 * messages per second, how many messages each sending address delivered, the CPU per message
 * of every Estafeta node and of the PostgreSQL server (all its processes: it serves nothing
 * else), the whole machine's CPU per message and the feedback delay.
 * Everything it made is removed at the end, on an error and on Ctrl-C. Where the kernel
 * refuses `ip netns add` (not root, no CAP_SYS_ADMIN, a container) it says so and exits 0.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createApiKey } from '../src/auth/index.ts';
import { openDatabase } from '../src/db/index.ts';
import { startSimDns, type SimDns } from '../src/sim/dns-server.ts';
import { csvTarget, HTML, TEXT } from './lib/content.ts';
import { cpuMs, machineCpuMs, percentile, settle, sleep, startDaemon, stopDaemon } from './lib/proc.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = option('recipients', 20_000);
const json = args.includes('--json');
const say = (s: string) => {
  if (!json) process.stderr.write(s + '\n');
};

const SESSIONS = 20;
const SINK_DOMAIN = 'sink.bench';
const tag = String(process.pid % 10_000);
// One /24 per run, so two runs at once (or a stale one) do not collide.
const NET = `198.18.${(process.pid % 200) + 20}`;
const BRIDGE = `estbr${tag}`;
const PG_PORT = 55_432;
const DNS_PORT = 5353;
const SMTP_PORT = 2525;
const SINK_HTTP_PORT = 8099;
const API_PORT = 8025;
const HOSTS = { api: `${NET}.10`, mta1: `${NET}.11`, mta2: `${NET}.12`, mx: `${NET}.20` } as const;
type Host = keyof typeof HOSTS;
const ns = (h: Host) => `est${tag}-${h}`;
const DATABASE_URL = `postgres://postgres@${NET}.1:${PG_PORT}/bench`;

const sh = (cmd: string, ...a: string[]) => execFileSync(cmd, a, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const made: { netns: string[]; bridge: boolean; pgDir?: string; dir?: string; daemons: ReturnType<typeof startDaemon>[]; dns?: SimDns } = { netns: [], bridge: false, daemons: [] };

let tearingDown: Promise<void> | undefined;
/** Removes what the run made; a second call (Ctrl-C during the teardown) waits for the first. */
function teardown(): Promise<void> {
  tearingDown ??= removeEverything();
  return tearingDown;
}

async function removeEverything(): Promise<void> {
  for (const d of made.daemons.reverse()) await stopDaemon(d).catch(() => {});
  made.daemons = [];
  await made.dns?.stop().catch(() => {});
  made.dns = undefined;
  if (made.pgDir && existsSync(join(made.pgDir, 'postmaster.pid'))) {
    try {
      sh('runuser', '-u', 'postgres', '--', pgBin('pg_ctl'), '-D', made.pgDir, '-m', 'immediate', '-w', 'stop');
    } catch (err) {
      process.stderr.write(`pg_ctl stop: ${(err as Error).message}\n`);
    }
  }
  for (const n of made.netns.splice(0)) {
    try {
      sh('ip', 'netns', 'del', n);
    } catch (err) {
      process.stderr.write(`ip netns del ${n}: ${(err as Error).message}\n`);
    }
  }
  if (made.bridge) {
    try {
      sh('ip', 'link', 'del', BRIDGE);
    } catch (err) {
      process.stderr.write(`ip link del ${BRIDGE}: ${(err as Error).message}\n`);
    }
    made.bridge = false;
  }
  if (made.dir) rmSync(made.dir, { recursive: true, force: true });
  made.dir = undefined;
}

function pgBin(name: string): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(`/usr/lib/postgresql/${v}/bin/${name}`)) return `/usr/lib/postgresql/${v}/bin/${name}`;
  throw new Error(`no ${name} under /usr/lib/postgresql/*/bin (apt-get install postgresql)`);
}

/** Makes the bridge and the namespaces; null when the kernel allows it, else why not. */
function makeNetwork(): string | null {
  try {
    sh('ip', 'netns', 'add', ns('api'));
    made.netns.push(ns('api'));
  } catch (err) {
    return `ip netns add was refused (${((err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message).trim()}); run as root on a kernel that allows network namespaces`;
  }
  sh('ip', 'link', 'add', BRIDGE, 'type', 'bridge');
  made.bridge = true;
  sh('ip', 'addr', 'add', `${NET}.1/24`, 'dev', BRIDGE);
  sh('ip', 'link', 'set', BRIDGE, 'up');
  for (const h of Object.keys(HOSTS) as Host[]) {
    if (h !== 'api') {
      sh('ip', 'netns', 'add', ns(h));
      made.netns.push(ns(h));
    }
    const outside = `ve${tag}${h}`;
    sh('ip', 'link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(h));
    sh('ip', 'link', 'set', outside, 'master', BRIDGE);
    sh('ip', 'link', 'set', outside, 'up');
    sh('ip', 'netns', 'exec', ns(h), 'ip', 'addr', 'add', `${HOSTS[h]}/24`, 'dev', 'eth0');
    sh('ip', 'netns', 'exec', ns(h), 'ip', 'link', 'set', 'eth0', 'up');
    sh('ip', 'netns', 'exec', ns(h), 'ip', 'link', 'set', 'lo', 'up');
  }
  return null;
}

/** A private PostgreSQL in a temporary folder, listening on the bridge address only. */
async function startPostgres(dir: string): Promise<string> {
  const data = join(dir, 'pg');
  chmodSync(dir, 0o711); // the postgres user must reach its folder inside
  mkdirSync(data);
  chownSync(data, Number(sh('id', '-u', 'postgres').trim()), Number(sh('id', '-g', 'postgres').trim()));
  made.pgDir = data;
  sh('runuser', '-u', 'postgres', '--', pgBin('initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions');
  writeFileSync(join(data, 'pg_hba.conf'), `local all all trust\nhost all all ${NET}.0/24 trust\n`);
  sh('runuser', '-u', 'postgres', '--', pgBin('pg_ctl'), '-D', data, '-l', join(data, 'server.log'), '-w', '-o', `-c listen_addresses=${NET}.1 -c port=${PG_PORT} -c unix_socket_directories=${data} -c max_connections=200`, 'start');
  const c = new pg.Client({ connectionString: `postgres://postgres@${NET}.1:${PG_PORT}/postgres` });
  await c.connect();
  await c.query('create database bench');
  await c.end();
  return DATABASE_URL;
}

/** CPU of the whole PostgreSQL server: the postmaster, the children it reaped and those alive. */
function postgresCpuMs(): number {
  const pid = Number(readFileSync(join(made.pgDir!, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const fields = (p: number | string) => {
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  };
  const f = fields(pid);
  let ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const c = fields(p);
      if (Number(c[1]) === pid) ticks += Number(c[11]) + Number(c[12]);
    } catch {
      // ended meanwhile
    }
  }
  return ticks * 10;
}

function startNode(host: Host, dir: string, databaseUrl: string, roles: string[], dnsPort: number): ReturnType<typeof startDaemon> {
  const policy = join(dir, `policy-${host}`);
  mkdirSync(policy);
  // The sink's domains publish no SPF, DKIM or DMARC: the bulk-sender gate is set out of reach (as in bench/run.ts).
  writeFileSync(join(policy, 'compliance.yaml'), 'bulkRecipients: 1000000000\n');
  writeFileSync(join(policy, 'mx-rules.yaml'), `rules:\n  - { name: bench-sink, mx: ["*.${SINK_DOMAIN}"], maxConnections: ${SESSIONS}, maxMessagesPerConnection: 1000, maxReady: 4000 }\n  - { name: default, mx: ["*"] }\n`);
  const config = join(dir, `estafeta-${host}.yaml`);
  writeFileSync(config, `mta:\n  localAddress: ${HOSTS[host]}\n`);
  const d = startDaemon('ip', ['netns', 'exec', ns(host), process.execPath, '--max-semi-space-size=64', '--import', 'tsx', 'src/cli/main.ts', 'start'], {
    ...process.env,
    ESTAFETA_CONFIG: config,
    DATABASE_URL: databaseUrl,
    ESTAFETA_ROLES: roles.join(','),
    ESTAFETA_HTTP_HOST: HOSTS[host],
    ESTAFETA_HTTP_PORT: String(API_PORT),
    ESTAFETA_DNS_SERVERS: `${NET}.1:${dnsPort}`,
    ESTAFETA_MX_PORT: String(SMTP_PORT),
    ESTAFETA_BOUNCE_PORT: '2526',
    ESTAFETA_POLICY_DIR: policy,
    ESTAFETA_LOG_LEVEL: 'warn',
    ESTAFETA_HELO_NAME: `${host}.estafeta.bench`,
    ESTAFETA_ADMIN_PASSWORD: 'bench-admin-password',
  });
  made.daemons.push(d);
  return d;
}

async function main() {
  const missing = makeNetwork();
  if (missing) {
    say(`cluster benchmark skipped: ${missing}`);
    if (json) process.stdout.write(JSON.stringify({ skipped: missing }) + '\n');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-cluster-'));
  made.dir = dir;
  say(`network ${NET}.0/24: bridge ${BRIDGE} ${NET}.1, api ${HOSTS.api}, mta ${HOSTS.mta1} and ${HOSTS.mta2}, mx ${HOSTS.mx}`);
  const databaseUrl = await startPostgres(dir);
  say(`private PostgreSQL at ${databaseUrl}`);
  made.dns = await startSimDns({ host: `${NET}.1`, port: DNS_PORT, records: [{ name: SINK_DOMAIN, type: 'MX', exchange: `mx.${SINK_DOMAIN}`, priority: 10 }, { name: `mx.${SINK_DOMAIN}`, type: 'A', address: HOSTS.mx }] });
  const sink = startDaemon('ip', ['netns', 'exec', ns('mx'), process.execPath, '--import', 'tsx', 'bench/lib/cluster-sink.ts', HOSTS.mx, String(SMTP_PORT), String(SINK_HTTP_PORT)]);
  made.daemons.push(sink);
  const sinkCounts = async (): Promise<{ byAddress: Record<string, number>; connections: { max: number; total: number } }> => (await fetch(`http://${HOSTS.mx}:${SINK_HTTP_PORT}/`)).json();

  const db = await openDatabase(databaseUrl);
  const { key } = await createApiKey(db.kysely, { name: 'cluster', role: 'admin', createdBy: 'bench' });
  const apiNode = startNode('api', dir, databaseUrl, ['api', 'sender', 'feedback', 'inbound'], DNS_PORT);
  const api = async (method: string, path: string, body?: unknown) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const res = await fetch(`http://${HOSTS.api}:${API_PORT}/api/v1${path}`, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  };
  for (let i = 0; ; i++) {
    try {
      await api('GET', '/health');
      await sinkCounts();
      break;
    } catch (err) {
      if (i > 150 || apiNode.exitCode !== null) throw new Error(`the api node or the sink did not start: ${(err as Error).message}\n${apiNode.output()}\n${sink.output()}`);
      await sleep(200);
    }
  }
  const mtaCount = async () => Number((await db.kysely.selectFrom('mta_processes').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const startMta = async (host: Host) => {
    const before = await mtaCount();
    const node = startNode(host, dir, databaseUrl, ['mta'], DNS_PORT);
    for (let i = 0; (await mtaCount()) <= before; i++) {
      if (i > 150 || node.exitCode !== null) throw new Error(`the ${host} node did not start:\n${node.output()}`);
      await sleep(200);
    }
    return node;
  };
  await api('POST', '/dkim/keys', { domain: 'shop.bench', selector: 'bench1', algorithm: 'rsa-sha256' });
  const nodes: { host: Host; pid: number }[] = [{ host: 'api', pid: apiNode.pid! }];

  const result: Record<string, unknown> = { recipients: N, messageBytes: 10 * 1024, sessions: SESSIONS, network: `${NET}.0/24`, loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number) };
  try {
    nodes.push({ host: 'mta1', pid: (await startMta('mta1')).pid! });
    say(`one MTA node (${HOSTS.mta1}): a delivery of ${N}`);
    result.oneMtaNode = await delivery(api, nodes, sinkCounts, 'one node');
    nodes.push({ host: 'mta2', pid: (await startMta('mta2')).pid! });
    // Let the new node's heartbeat be seen, so the MX rule is split between both from the start.
    await sleep(3000);
    say(`two MTA nodes (${HOSTS.mta1}, ${HOSTS.mta2}): a delivery of ${N}`);
    result.twoMtaNodes = await delivery(api, nodes, sinkCounts, 'two nodes');
    const rate = (k: string) => (result[k] as { messagesPerSecond: number }).messagesPerSecond;
    result.twoVsOne = Math.round((rate('twoMtaNodes') / rate('oneMtaNode')) * 100) / 100;
  } finally {
    await db.close();
  }
  process.stdout.write(JSON.stringify(result, null, json ? 0 : 2) + '\n');
}

async function delivery(api: (m: string, p: string, b?: unknown) => Promise<any>, nodes: { host: Host; pid: number }[], sinkCounts: () => Promise<{ byAddress: Record<string, number> }>, label: string): Promise<Record<string, unknown>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const d0 = await api('POST', '/deliveries', { label, from: { name: 'Bench Shop', address: 'news@shop.bench' }, subject: 'Hello {{ firstName }}, the autumn selection', html: HTML, text: TEXT, recipientsCsv: csvTarget(N, SINK_DOMAIN) });
  await api('POST', `/deliveries/${d0.id}/analyze`);
  await settle();
  const counts0 = (await sinkCounts()).byAddress;
  const cpu0 = nodes.map((n) => cpuMs(n.pid));
  const pg0 = postgresCpuMs();
  const machine0 = machineCpuMs();
  const t0 = performance.now();
  await api('POST', `/deliveries/${d0.id}/confirm`);
  let d;
  for (;;) {
    d = await api('GET', `/deliveries/${d0.id}`);
    if (['finished', 'failed', 'stopped'].includes(d.state)) break;
    await sleep(100);
  }
  const seconds = (performance.now() - t0) / 1000;
  const per = (ms: number) => Math.round((ms / N) * 1000) / 1000;
  const cpu = nodes.map((n, i) => [n.host, per(cpuMs(n.pid) - cpu0[i])]);
  const databaseCpu = per(postgresCpuMs() - pg0);
  const machine = per(machineCpuMs() - machine0);
  if (d.kpis.sent !== N) throw new Error(`expected ${N} sent, got ${JSON.stringify(d.kpis)}`);
  const counts = (await sinkCounts()).byAddress;
  const delays = await feedbackDelays(d0.id);
  const bySendingIp = Object.fromEntries(Object.entries(counts).map(([ip, n]) => [ip, n - (counts0[ip] ?? 0)]).filter(([, n]) => Number(n) > 0));
  const strangers = Object.keys(bySendingIp).filter((ip) => ip !== HOSTS.mta1 && ip !== HOSTS.mta2);
  if (strangers.length) throw new Error(`the sink received from ${strangers.join(', ')}, not an MTA node's address`);
  return {
    messagesPerSecond: Math.round(N / seconds),
    elapsedSeconds: Math.round(seconds * 10) / 10,
    deliveredBySendingIp: bySendingIp,
    cpuMsPerMessageByNode: Object.fromEntries(cpu),
    postgresCpuMsPerMessage: databaseCpu,
    machineCpuMsPerMessage: machine,
    feedbackP50Ms: delays.p50Ms,
    feedbackP99Ms: delays.p99Ms,
  };
}

async function feedbackDelays(deliveryId: number): Promise<{ p50Ms: number; p99Ms: number }> {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  try {
    const { rows } = await c.query("select applied_at - occurred_at as d from events where type = 'delivered' and applied_at is not null and delivery_id = $1", [deliveryId]);
    const ds = rows.map((r: { d: string }) => Number(r.d)).sort((a: number, b: number) => a - b);
    return { p50Ms: percentile(ds, 50), p99Ms: percentile(ds, 99) };
  } finally {
    await c.end();
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`${signal}: removing what the cluster benchmark made\n`);
    void teardown().finally(() => process.exit(130));
  });
}
main()
  .catch((err) => {
    process.stderr.write(`cluster benchmark failed: ${err.stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(() => teardown());
