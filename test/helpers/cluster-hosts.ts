/**
 * Estafeta's nodes as separate hosts on one machine, all on one private PostgreSQL: the setup
 * of test/cluster.test.ts and bench/cluster.ts (as root). It makes a bridge in the root
 * namespace and, with `ip netns add` and veth pairs, one network namespace per host, on a /24
 * of the benchmarking range 198.18.0.0/15 (RFC 2544) that no interface uses yet:
 *   .1         the bridge (root namespace): a private PostgreSQL (Debian's initdb + pg_ctl in
 *              a temporary folder, listening on this address only) and the simulator's DNS;
 *   .10        the core node, with the roles asked for (e.g. api,sender,feedback);
 *   .11, .12 … the MTA nodes (role mta), each sending from its own address: its policy
 *              folder's sending-ips.yaml names that address, which only its namespace has;
 *   .20        the receiving MX: test/helpers/cluster-sink.ts, which counts per recipient and
 *              per client address.
 * The namespaces have no default route and the DNS server answers only the sink's names, so
 * nothing can be sent to an address that is not one of these hosts. The names, the /24, the
 * ports on the bridge and the temporary folder are new for each run, so a test and a
 * benchmark can run side by side. `teardown()` removes everything (processes, namespaces,
 * veths, bridge, PostgreSQL, folder); it also runs on SIGINT/SIGTERM and, synchronously, at
 * the process's exit if the caller did not. It measures nothing and asserts nothing: the
 * callers do.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createApiKey } from '../../src/auth/index.ts';
import { openDatabase, type Db } from '../../src/db/index.ts';
import { startSimDns, type SimDns } from '../../src/sim/dns-server.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SMTP_PORT = 2525;
const API_PORT = 8025;
const SINK_HTTP_PORT = 8099;
const BOUNCE_PORT = 2526;

export interface ClusterOptions {
  /** Roles of the core node (.10). */
  coreRoles: string[];
  /** Domain the sink receives for (its MX is mx.<domain>, at .20). */
  sinkDomain: string;
  /** The MX rule's connections for the whole cluster (each live MTA node takes its share). */
  sessions: number;
  /** The sink waits this long after each message's data before accepting it. */
  sinkDelayMs?: number;
  /** Settings for every node's config file (e.g. { mta: { lease: '6s', maxInFlight: 150 } }). */
  config?: Record<string, Record<string, unknown>>;
  /** Extra node flags (e.g. --max-semi-space-size=64), before --import tsx. */
  nodeFlags?: string[];
}

export interface Proc {
  name: string;
  /** The node process itself: `ip netns exec` execs it. */
  pid: number;
  process: ChildProcess;
  /** Its stdout and stderr, the last 4,000 characters. */
  output(): string;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
  /** SIGTERM (an Estafeta node drains its MTA first), SIGKILL after 20 s. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

export interface MtaNode extends Proc {
  address: string;
  /** Its engine's lease owner, as in mta_spool.lease_owner and mta_processes. */
  owner: string;
}

export interface SinkCounts {
  byAddress: Record<string, number>;
  connections: { now: number; max: number; total: number };
}

export interface Cluster {
  net: string;
  bridge: string;
  databaseUrl: string;
  /** The core node's address; the MTA nodes are at mtaAddress(1), mtaAddress(2), ... */
  coreAddress: string;
  mtaAddress(i: number): string;
  mxAddress: string;
  dir: string;
  /** A connection to the cluster's database from the root namespace (migrated). */
  db: Db;
  adminKey: string;
  core: Proc;
  /** Calls the core node's API; throws on an HTTP error. */
  api<T = any>(method: string, path: string, body?: unknown): Promise<T>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Starts MTA node i (1-based) in its namespace and waits until it is a live MTA process. */
  startMta(i: number, config?: Record<string, unknown>): Promise<MtaNode>;
  sink: {
    counts(): Promise<SinkCounts>;
    /** Every acceptance per recipient: [client address, ms since the epoch]. */
    recipients(): Promise<Record<string, [string, number][]>>;
    reset(): Promise<void>;
  };
  /** CPU of the whole PostgreSQL server: the postmaster, its live children and those it reaped. */
  postgresCpuMs(): number;
  teardown(): Promise<void>;
}

/** Why this machine cannot run the cluster (not root, no ip, no PostgreSQL binaries), or null. */
export function clusterUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'needs root (ip netns, veth pairs, a PostgreSQL run as the postgres user)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'the ip command is missing (apt-get install iproute2)';
  }
  try {
    pgBin('initdb');
    pgBin('pg_ctl');
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    return 'the PostgreSQL server binaries (initdb, pg_ctl) or the postgres user are missing (apt-get install postgresql)';
  }
  return null;
}

function pgBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(`${base}/${v}/bin/${name}`)) return `${base}/${v}/bin/${name}`;
  throw new Error(`no ${name} under ${base}/*/bin (apt-get install postgresql)`);
}

const sh = (cmd: string, ...a: string[]) => execFileSync(cmd, a, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errText = (err: unknown) => ((err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message).trim();

/** A /24 of 198.18.0.0/15 that no interface of the root namespace has an address in. */
function freeNetwork(): string {
  const used = sh('ip', '-4', '-o', 'addr', 'show');
  for (let attempt = 0; attempt < 100; attempt++) {
    const n = 20 + Math.floor(Math.random() * 492); // 198.18.20 to 198.19.255
    const net = `198.${18 + (n >> 8)}.${n & 255}`;
    if (!used.includes(` ${net}.`)) return net;
  }
  throw new Error('no free /24 in 198.18.0.0/15');
}

/** A TCP port free on `host` now. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function spawnProc(name: string, netns: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const p = spawn('ip', ['netns', 'exec', netns, process.execPath, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  p.stdout.on('data', keep);
  p.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
  const ended = () => p.exitCode !== null || p.signalCode !== null;
  return {
    name,
    pid: p.pid!,
    process: p,
    output: () => output,
    exited,
    async stop() {
      if (!ended()) {
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(t);
      }
      return exited;
    },
    async kill9() {
      if (!ended()) p.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Makes the network, PostgreSQL, the DNS server, the sink and the core node (the MTA nodes
 * are started with `startMta`). Returns { skipped } where the kernel refuses `ip netns add`.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster | { skipped: string }> {
  const unavailable = clusterUnavailable();
  if (unavailable) return { skipped: unavailable };
  const tag = randomBytes(4).toString('hex').slice(0, 6);
  const net = freeNetwork();
  const bridge = `estbr${tag}`;
  const netns = (h: string) => `est-${tag}-${h}`;
  const made: { netns: string[]; bridge: boolean; pgData?: string; dir?: string; procs: Proc[]; dns?: SimDns; db?: Db } = { netns: [], bridge: false, procs: [] };
  const hosts: Record<string, string> = { core: `${net}.10`, mx: `${net}.20` };

  // Synchronous, for the exit of a process whose caller did not tear down (a test that timed out).
  const removeSync = () => {
    for (const p of made.procs) if (p.process.exitCode === null && p.process.signalCode === null) p.process.kill('SIGKILL');
    if (made.pgData && existsSync(join(made.pgData, 'postmaster.pid'))) {
      try {
        sh('runuser', '-u', 'postgres', '--', pgBin('pg_ctl'), '-D', made.pgData, '-m', 'immediate', '-w', 'stop');
      } catch {
        // reported by the asynchronous teardown when it runs
      }
    }
    for (const n of made.netns.splice(0)) {
      try {
        sh('ip', 'netns', 'del', n);
      } catch {
        // gone already
      }
    }
    if (made.bridge) {
      try {
        sh('ip', 'link', 'del', bridge);
      } catch {
        // gone already
      }
      made.bridge = false;
    }
    if (made.dir) rmSync(made.dir, { recursive: true, force: true });
    made.dir = undefined;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`${signal}: removing the cluster's hosts (${net}.0/24)\n`);
    void teardown().finally(() => process.exit(130));
  };
  process.on('exit', removeSync);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let tearingDown: Promise<void> | undefined;
  const teardown = () => (tearingDown ??= removeEverything());
  async function removeEverything(): Promise<void> {
    await made.db?.close().catch(() => {});
    for (const p of made.procs.reverse()) {
      // A node whose drain is slow gets SIGKILL after 5 s: the cluster is going away.
      const t = setTimeout(() => p.process.kill('SIGKILL'), 5000);
      await p.stop().catch(() => null);
      clearTimeout(t);
    }
    made.procs = [];
    await made.dns?.stop().catch(() => {});
    made.dns = undefined;
    if (made.pgData && existsSync(join(made.pgData, 'postmaster.pid'))) {
      try {
        sh('runuser', '-u', 'postgres', '--', pgBin('pg_ctl'), '-D', made.pgData, '-m', 'immediate', '-w', 'stop');
      } catch (err) {
        process.stderr.write(`pg_ctl stop: ${errText(err)}\n`);
      }
    }
    for (const n of made.netns.splice(0)) {
      try {
        sh('ip', 'netns', 'del', n);
      } catch (err) {
        process.stderr.write(`ip netns del ${n}: ${errText(err)}\n`);
      }
    }
    if (made.bridge) {
      try {
        sh('ip', 'link', 'del', bridge);
      } catch (err) {
        process.stderr.write(`ip link del ${bridge}: ${errText(err)}\n`);
      }
      made.bridge = false;
    }
    if (made.dir) rmSync(made.dir, { recursive: true, force: true });
    made.dir = undefined;
    process.off('exit', removeSync);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const addHost = (h: string) => {
    if (!made.netns.includes(netns(h))) {
      sh('ip', 'netns', 'add', netns(h));
      made.netns.push(netns(h));
    }
    const outside = `ve${tag}${h}`;
    sh('ip', 'link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns(h));
    sh('ip', 'link', 'set', outside, 'master', bridge);
    sh('ip', 'link', 'set', outside, 'up');
    sh('ip', 'netns', 'exec', netns(h), 'ip', 'addr', 'add', `${hosts[h]}/24`, 'dev', 'eth0');
    sh('ip', 'netns', 'exec', netns(h), 'ip', 'link', 'set', 'eth0', 'up');
    sh('ip', 'netns', 'exec', netns(h), 'ip', 'link', 'set', 'lo', 'up');
  };

  try {
    try {
      sh('ip', 'netns', 'add', netns('core'));
      made.netns.push(netns('core'));
    } catch (err) {
      await teardown();
      return { skipped: `ip netns add was refused (${errText(err)}); run as root on a kernel that allows network namespaces` };
    }
    sh('ip', 'link', 'add', bridge, 'type', 'bridge');
    made.bridge = true;
    sh('ip', 'addr', 'add', `${net}.1/24`, 'dev', bridge);
    sh('ip', 'link', 'set', bridge, 'up');
    addHost('core');
    addHost('mx');

    const dir = mkdtempSync(join(tmpdir(), 'estafeta-cluster-'));
    made.dir = dir;
    const pgPort = await freePort(`${net}.1`);
    const databaseUrl = await startPostgres(dir, net, pgPort, made);
    const dnsPort = await freePort(`${net}.1`);
    made.dns = await startSimDns({ host: `${net}.1`, port: dnsPort, records: [{ name: options.sinkDomain, type: 'MX', exchange: `mx.${options.sinkDomain}`, priority: 10 }, { name: `mx.${options.sinkDomain}`, type: 'A', address: hosts.mx }] });

    const sinkProc = spawnProc('sink', netns('mx'), ['--import', 'tsx', 'test/helpers/cluster-sink.ts', hosts.mx, String(SMTP_PORT), String(SINK_HTTP_PORT), String(options.sinkDelayMs ?? 0)], process.env);
    made.procs.push(sinkProc);
    const sinkUrl = `http://${hosts.mx}:${SINK_HTTP_PORT}`;
    const sink = {
      counts: async (): Promise<SinkCounts> => (await fetch(`${sinkUrl}/`)).json() as Promise<SinkCounts>,
      recipients: async (): Promise<Record<string, [string, number][]>> => (await fetch(`${sinkUrl}/recipients`)).json() as Promise<Record<string, [string, number][]>>,
      reset: async () => {
        await fetch(`${sinkUrl}/reset`, { method: 'POST' });
      },
    };

    const db = await openDatabase(databaseUrl);
    made.db = db;
    const { key: adminKey } = await createApiKey(db.kysely, { name: 'cluster', role: 'admin', createdBy: 'cluster' });

    const startNode = (h: string, roles: string[], extra: Record<string, unknown> = {}, policyFiles: Record<string, string> = {}): Proc => {
      const policy = join(dir, `policy-${h}-${Date.now()}`);
      mkdirSync(policy);
      // The sink's domain publishes no SPF, DKIM or DMARC: the bulk-sender gate is set out of reach (as in bench/run.ts).
      writeFileSync(join(policy, 'compliance.yaml'), 'bulkRecipients: 1000000000\n');
      writeFileSync(join(policy, 'mx-rules.yaml'), `rules:\n  - { name: cluster-sink, mx: ["*.${options.sinkDomain}"], maxConnections: ${options.sessions}, maxMessagesPerConnection: 1000, maxReady: 4000 }\n  - { name: default, mx: ["*"] }\n`);
      for (const [name, text] of Object.entries(policyFiles)) writeFileSync(join(policy, name), text);
      const config = join(dir, `estafeta-${h}-${Date.now()}.yaml`);
      const settings = { ...options.config, ...extra };
      // JSON is YAML.
      writeFileSync(config, JSON.stringify({ ...settings, mta: { heloName: `${h}.estafeta.cluster`, ...options.config?.mta, ...(extra.mta as object | undefined) } }));
      const p = spawnProc(h, netns(h), [...(options.nodeFlags ?? []), '--import', 'tsx', 'src/cli/main.ts', 'start'], {
        ...process.env,
        ESTAFETA_CONFIG: config,
        DATABASE_URL: databaseUrl,
        ESTAFETA_ROLES: roles.join(','),
        ESTAFETA_HTTP_HOST: hosts[h],
        ESTAFETA_HTTP_PORT: String(API_PORT),
        ESTAFETA_DNS_SERVERS: `${net}.1:${dnsPort}`,
        ESTAFETA_MX_PORT: String(SMTP_PORT),
        ESTAFETA_BOUNCE_PORT: String(BOUNCE_PORT),
        ESTAFETA_POLICY_DIR: policy,
        ESTAFETA_LOG_LEVEL: 'warn',
        ESTAFETA_ADMIN_PASSWORD: 'cluster-admin-password',
      });
      made.procs.push(p);
      return p;
    };

    const coreUrl = `http://${hosts.core}:${API_PORT}/api/v1`;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${coreUrl}${path}`, { method, headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
      return text ? JSON.parse(text) : null;
    };
    const core = startNode('core', options.coreRoles);
    for (let i = 0; ; i++) {
      try {
        const ready = await fetch(`${coreUrl}/health/ready`);
        await sink.counts();
        if (ready.ok) break;
      } catch (err) {
        if (i > 300 || core.process.exitCode !== null || sinkProc.process.exitCode !== null) throw new Error(`the core node or the sink did not start: ${(err as Error).message}\ncore: ${core.output()}\nsink: ${sinkProc.output()}`);
      }
      await sleep(200);
    }

    const liveOwners = async () => (await db.kysely.selectFrom('mta_processes').select('owner').execute()).map((r) => r.owner);
    const startMta = async (i: number, extra: Record<string, unknown> = {}): Promise<MtaNode> => {
      const h = `mta${i}`;
      const address = `${net}.${10 + i}`;
      if (!hosts[h]) {
        hosts[h] = address;
        addHost(h);
      }
      const before = new Set(await liveOwners());
      const ips = `pools:\n  default:\n    ips:\n      - { address: ${address}, helo: ${h}.estafeta.cluster }\n`;
      const node = startNode(h, ['mta'], extra, { 'sending-ips.yaml': ips });
      for (let n = 0; ; n++) {
        const added = (await liveOwners()).filter((o) => !before.has(o));
        if (added.length === 1) return { ...node, address, owner: added[0] };
        if (added.length > 1) throw new Error(`start MTA nodes one at a time: ${added.length} appeared`);
        if (n > 300 || node.process.exitCode !== null) throw new Error(`the ${h} node did not start:\n${node.output()}`);
        await sleep(100);
      }
    };

    return {
      net,
      bridge,
      databaseUrl,
      coreAddress: hosts.core,
      mtaAddress: (i) => `${net}.${10 + i}`,
      mxAddress: hosts.mx,
      dir,
      db,
      adminKey,
      core,
      api,
      startMta,
      sink,
      postgresCpuMs: () => postgresCpuMs(made.pgData!),
      teardown,
    };
  } catch (err) {
    await teardown();
    throw err;
  }
}

/** A private PostgreSQL in `dir`, listening on the bridge address only; returns the URL of its database "cluster". */
async function startPostgres(dir: string, net: string, port: number, made: { pgData?: string }): Promise<string> {
  const data = join(dir, 'pg');
  chmodSync(dir, 0o711); // the postgres user must reach its folder inside
  mkdirSync(data);
  chownSync(data, Number(sh('id', '-u', 'postgres').trim()), Number(sh('id', '-g', 'postgres').trim()));
  made.pgData = data;
  sh('runuser', '-u', 'postgres', '--', pgBin('initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions');
  writeFileSync(join(data, 'pg_hba.conf'), `local all all trust\nhost all all ${net}.0/24 trust\n`);
  sh('runuser', '-u', 'postgres', '--', pgBin('pg_ctl'), '-D', data, '-l', join(data, 'server.log'), '-w', '-o', `-c listen_addresses=${net}.1 -c port=${port} -c unix_socket_directories=${data} -c max_connections=200`, 'start');
  const c = new pg.Client({ connectionString: `postgres://postgres@${net}.1:${port}/postgres` });
  await c.connect();
  await c.query('create database cluster');
  await c.end();
  return `postgres://postgres@${net}.1:${port}/cluster`;
}

function postgresCpuMs(pgData: string): number {
  const pid = Number(readFileSync(join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);
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
