/**
 * `npx tsx bench/cluster.ts [--recipients N] [--lease 10s] [--json]` (as root): Estafeta's
 * nodes as separate hosts on one machine, all on one PostgreSQL.
 *
 * The hosts are those of test/helpers/cluster-hosts.ts (network namespaces joined by a
 * bridge, on a /24 of 198.18.0.0/15 that no interface uses): a private PostgreSQL and the
 * simulator's DNS server on the bridge (.1), the api node (.10: api,sender,feedback,inbound),
 * up to three MTA nodes (.11, .12, .13), each sending from its own address, and the
 * receiving MX (.20), an smtp-server sink that counts messages per recipient and per client
 * address. Nothing can be sent to an address that is not one of these hosts.
 *
 * It sends the same delivery as `npm run bench` (N personalized 10 KB messages, DKIM
 * RSA-2048) four times: with one MTA node, two, three, and three again with one of them
 * killed (kill -9) a quarter of the way through. For the first three it prints the messages
 * per second, how many messages each sending address delivered, the CPU per message of every
 * Estafeta node and of the PostgreSQL server (all its processes: it serves nothing else), the
 * whole machine's CPU per message and the feedback delay. For the kill it prints the messages
 * lost and sent twice (counted at the sink per recipient), how many messages the dead node
 * held leased when it died (the most that can go out twice; mta.maxInFlight, 4,000, bounds
 * it), when their leases ran out and when the last of them was delivered by another node.
 * Every node runs with mta.lease = --lease (10 s; 5 min by default) so that the kill's
 * recovery is seconds, not minutes. The load average is printed at the start and the end.
 * Everything it made is removed at the end, on an error and on Ctrl-C. Where the kernel
 * refuses `ip netns add` (not root, no CAP_SYS_ADMIN, a container) it says so and exits 0.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { startCluster, type Cluster, type MtaNode, type Proc } from '../test/helpers/cluster-hosts.ts';
import { csvTarget, HTML, TEXT } from './lib/content.ts';
import { cpuMs, machineCpuMs, percentile, settle, sleep } from './lib/proc.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const N = Number(option('recipients', '20000'));
const LEASE = option('lease', '10s');
const json = args.includes('--json');
const say = (s: string) => {
  if (!json) process.stderr.write(s + '\n');
};

const SESSIONS = 20;
const SINK_DOMAIN = 'sink.bench';
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

async function main() {
  const started = await startCluster({
    coreRoles: ['api', 'sender', 'feedback', 'inbound'],
    sinkDomain: SINK_DOMAIN,
    sessions: SESSIONS,
    config: { mta: { lease: LEASE } },
    nodeFlags: ['--max-semi-space-size=64'],
  });
  if ('skipped' in started) {
    say(`cluster benchmark skipped: ${started.skipped}`);
    if (json) process.stdout.write(JSON.stringify({ skipped: started.skipped }) + '\n');
    return;
  }
  const c = started;
  try {
    say(`network ${c.net}.0/24: bridge ${c.bridge} ${c.net}.1 (PostgreSQL ${c.databaseUrl}, DNS), api ${c.coreAddress}, mta ${c.mtaAddress(1)}, ${c.mtaAddress(2)}, ${c.mtaAddress(3)}, mx ${c.mxAddress}`);
    await c.api('POST', '/dkim/keys', { domain: 'shop.bench', selector: 'bench1', algorithm: 'rsa-sha256' });
    const result: Record<string, unknown> = { recipients: N, messageBytes: 10 * 1024, sessions: SESSIONS, lease: LEASE, network: `${c.net}.0/24`, loadAverage: loadAverage() };
    const mtas: MtaNode[] = [];
    const addMta = async () => {
      mtas.push(await c.startMta(mtas.length + 1));
      // Let the new node's heartbeat be seen, so the MX rule is split between all from the start.
      if (mtas.length > 1) await sleep(6000);
    };
    await addMta();
    say(`one MTA node: a delivery of ${N}`);
    result.oneMtaNode = await delivery(c, mtas, 'one node');
    await addMta();
    say(`two MTA nodes: a delivery of ${N}`);
    result.twoMtaNodes = await delivery(c, mtas, 'two nodes');
    await addMta();
    say(`three MTA nodes: a delivery of ${N}`);
    result.threeMtaNodes = await delivery(c, mtas, 'three nodes');
    const rate = (k: string) => (result[k] as { messagesPerSecond: number }).messagesPerSecond;
    result.twoVsOne = Math.round((rate('twoMtaNodes') / rate('oneMtaNode')) * 100) / 100;
    result.threeVsOne = Math.round((rate('threeMtaNodes') / rate('oneMtaNode')) * 100) / 100;
    say(`three MTA nodes, kill -9 of mta2 a quarter of the way: a delivery of ${N}`);
    result.killOneOfThree = await killRun(c, mtas, mtas[1]);
    result.loadAverageEnd = loadAverage();
    process.stdout.write(JSON.stringify(result, null, json ? 0 : 2) + '\n');
  } finally {
    await c.teardown();
  }
}

interface Run {
  id: number;
  seconds: number;
  measured: Record<string, unknown>;
}

/** Sends the delivery; `during` runs once it is confirmed, before waiting for its end. */
async function send(c: Cluster, mtas: MtaNode[], label: string, during?: (confirmedAt: number) => Promise<void>): Promise<Run> {
  const d0 = await c.api('POST', '/deliveries', { label, from: { name: 'Bench Shop', address: 'news@shop.bench' }, subject: 'Hello {{ firstName }}, the autumn selection', html: HTML, text: TEXT, recipientsCsv: csvTarget(N, SINK_DOMAIN) });
  await c.api('POST', `/deliveries/${d0.id}/analyze`);
  await settle();
  await c.sink.reset();
  const nodes: Proc[] = [c.core, ...mtas.filter((m) => m.process.exitCode === null && m.process.signalCode === null)];
  const cpu0 = nodes.map((n) => cpuMs(n.pid));
  const pg0 = c.postgresCpuMs();
  const machine0 = machineCpuMs();
  const t0 = performance.now();
  const confirmedAt = Date.now();
  await c.api('POST', `/deliveries/${d0.id}/confirm`);
  await during?.(confirmedAt);
  let d;
  for (;;) {
    d = await c.api('GET', `/deliveries/${d0.id}`);
    if (['finished', 'failed', 'stopped'].includes(d.state)) break;
    await sleep(100);
  }
  const seconds = (performance.now() - t0) / 1000;
  const per = (ms: number) => Math.round((ms / N) * 1000) / 1000;
  // A node killed meanwhile has no /proc entry any more: its CPU is not counted.
  const cpu = nodes.map((n, i) => [n.name, n.process.signalCode ? null : per(cpuMs(n.pid) - cpu0[i])]);
  const databaseCpu = per(c.postgresCpuMs() - pg0);
  const machine = per(machineCpuMs() - machine0);
  if (d.kpis.sent !== N) throw new Error(`expected ${N} sent, got ${JSON.stringify(d.kpis)}`);
  const bySendingIp = (await c.sink.counts()).byAddress;
  const strangers = Object.keys(bySendingIp).filter((ip) => !mtas.some((m) => m.address === ip));
  if (strangers.length) throw new Error(`the sink received from ${strangers.join(', ')}, not an MTA node's address`);
  const delays = await feedbackDelays(c.databaseUrl, d0.id);
  return {
    id: d0.id,
    seconds,
    measured: {
      messagesPerSecond: Math.round(N / seconds),
      elapsedSeconds: Math.round(seconds * 10) / 10,
      deliveredBySendingIp: bySendingIp,
      cpuMsPerMessageByNode: Object.fromEntries(cpu),
      postgresCpuMsPerMessage: databaseCpu,
      machineCpuMsPerMessage: machine,
      feedbackP50Ms: delays.p50Ms,
      feedbackP99Ms: delays.p99Ms,
    },
  };
}

async function delivery(c: Cluster, mtas: MtaNode[], label: string): Promise<Record<string, unknown>> {
  return (await send(c, mtas, label)).measured;
}

/** The delivery with `victim` killed (kill -9) once a quarter of it has arrived, while it holds messages. */
async function killRun(c: Cluster, mtas: MtaNode[], victim: MtaNode): Promise<Record<string, unknown>> {
  let killedAt = 0;
  let confirmed = 0;
  let leased: { rcpt_to: string; next_attempt_at: number }[] = [];
  let sentByVictim = 0;
  const leasedTo = () => c.db.kysely.selectFrom('mta_spool').select(['rcpt_to', 'next_attempt_at']).where('lease_owner', '=', victim.owner).execute();
  const run = await send(c, mtas, 'kill -9', async (confirmedAt) => {
    confirmed = confirmedAt;
    for (let i = 0; ; i++) {
      const counts = (await c.sink.counts()).byAddress;
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      if (total >= N / 4 && (counts[victim.address] ?? 0) > 0 && (await leasedTo()).length > 0) break;
      if (total >= 0.9 * N || i > 15_000) throw new Error(`${victim.name} held no message between a quarter and nine tenths of the delivery (${JSON.stringify(counts)})`);
      await sleep(10);
    }
    await victim.kill9();
    killedAt = Date.now();
    await sleep(300); // a commit it had sent may still land
    leased = await leasedTo();
    sentByVictim = (await c.sink.counts()).byAddress[victim.address] ?? 0;
  });
  await sleep(500); // a late duplicate would arrive now
  const received = await c.sink.recipients();
  let lost = 0;
  let duplicates = 0;
  for (let i = 0; i < N; i++) {
    const got = received[`user${i}@${SINK_DOMAIN}`]?.length ?? 0;
    if (!got) lost++;
    duplicates += Math.max(0, got - 1);
  }
  const leasedSet = new Set(leased.map((l) => l.rcpt_to));
  const duplicatedNotLeased = Object.entries(received).filter(([r, got]) => got.length > 1 && !leasedSet.has(r)).length;
  const takeovers = leased.flatMap((l) => received[l.rcpt_to]?.filter(([a, at]) => a !== victim.address && at >= killedAt).map(([, at]) => at) ?? []);
  const s = (ms: number) => Math.round(ms / 100) / 10;
  return {
    ...run.measured,
    killed: `${victim.name} (${victim.address})`,
    sentByKilledNodeBeforeKill: sentByVictim,
    leasedToKilledNodeAtKill: leased.length,
    lost,
    duplicates,
    duplicatedNotLeasedToKilledNode: duplicatedNotLeased,
    killedSecondsAfterConfirm: s(killedAt - confirmed),
    leasesRanOutSecondsAfterKill: s(Math.max(0, ...leased.map((l) => Number(l.next_attempt_at) - killedAt))),
    firstTakenOverSecondsAfterKill: takeovers.length ? s(Math.min(...takeovers) - killedAt) : null,
    recoveredSecondsAfterKill: takeovers.length ? s(Math.max(...takeovers) - killedAt) : null,
  };
}

async function feedbackDelays(databaseUrl: string, deliveryId: number): Promise<{ p50Ms: number; p99Ms: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query("select applied_at - occurred_at as d from events where type = 'delivered' and applied_at is not null and delivery_id = $1", [deliveryId]);
    const ds = rows.map((r: { d: string }) => Number(r.d)).sort((a: number, b: number) => a - b);
    return { p50Ms: percentile(ds, 50), p99Ms: percentile(ds, 99) };
  } finally {
    await client.end();
  }
}

main().catch((err) => {
  process.stderr.write(`cluster benchmark failed: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
