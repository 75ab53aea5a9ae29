/**
 * Estafeta's nodes as separate hosts (network namespaces, test/helpers/cluster-hosts.ts) on
 * one private PostgreSQL: a core node (api, sender, feedback), three MTA nodes each sending
 * from its own address, and a sink host that counts every acceptance per recipient and client
 * address. Three deliveries, each to its own recipients:
 *   1. all three nodes up: every message arrives exactly once, each node sends a share, and
 *      each message comes from the address of the node that sent it (the sink sees the client
 *      address; the 'delivered' event says the same source IP);
 *   2. kill -9 of one node while it sends: nothing is lost, the other two take its messages
 *      once their leases run out (mta.lease, short here), and a message goes out twice only if
 *      it was leased to the dead node when it died; at most mta.maxInFlight of them, the most
 *      a node holds;
 *   3. SIGTERM of one node while it sends (a drain): nothing lost, nothing sent twice.
 * It runs on PostgreSQL only (DATABASE_URL), as root, with the PostgreSQL server binaries;
 * it skips saying why elsewhere. It does not measure throughput: bench/cluster.ts does.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { isPostgresTest } from '../src/db/testing.ts';
import { clusterUnavailable, startCluster, type Cluster, type MtaNode } from './helpers/cluster-hosts.ts';
import { waitFor } from './helpers/estafeta.ts';

const DOMAIN = 'cluster.test';
/** The MX rule's connections for the whole cluster: 4 per node of three. */
const SESSIONS = 12;
/** Short leases so that a dead node's messages are taken over within seconds (5 min by default). */
const LEASE = '6s';
/** The most messages a node holds (claimed, not final): what a kill -9 can send twice at most. */
const MAX_IN_FLIGHT = 150;

const skipped = !isPostgresTest() ? 'the cluster test runs on PostgreSQL (DATABASE_URL=postgres://...): its nodes share one database' : clusterUnavailable();
let cluster: Cluster | undefined;
let refused: string | undefined;
const nodes: MtaNode[] = [];

before(async () => {
  if (skipped) return;
  const t0 = Date.now();
  const c = await startCluster({ coreRoles: ['api', 'sender', 'feedback'], sinkDomain: DOMAIN, sessions: SESSIONS, sinkDelayMs: 10, config: { mta: { lease: LEASE, maxInFlight: MAX_IN_FLIGHT } } });
  if ('skipped' in c) {
    refused = c.skipped;
    return;
  }
  cluster = c;
  console.log(`cluster on ${c.net}.0/24: PostgreSQL, sink and core node up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const i of [1, 2, 3]) nodes[i] = await c.startMta(i);
  console.log(`three MTA nodes up after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // A node that just started holds back until the others count it, at their next heartbeat (5 s).
  await new Promise((r) => setTimeout(r, 5500));
}, { timeout: 240_000 });

after(async () => {
  await cluster?.teardown();
});

/** The cluster, or null when the test was skipped (it says why). */
function ready(t: TestContext): Cluster | null {
  if (refused) t.skip(refused);
  return refused ? null : cluster!;
}

/** Restarts the MTA nodes that are not running (a test before this one killed or drained one). */
async function threeNodes(c: Cluster): Promise<void> {
  for (const i of [1, 2, 3]) if (nodes[i].process.exitCode !== null || nodes[i].process.signalCode !== null) nodes[i] = await c.startMta(i);
}

const alive = (n: MtaNode) => n.process.exitCode === null && n.process.signalCode === null;

interface Tally {
  id: number;
  seconds: number;
  received: Record<string, [string, number][]>;
  lost: string[];
  duplicated: string[];
  duplicates: number;
  byAddress: Record<string, number>;
}

/** Sends `n` small messages to <prefix><i>@cluster.test, runs `during` while they go out, waits for the end and counts at the sink. */
async function deliver(c: Cluster, prefix: string, n: number, during?: () => Promise<void>): Promise<Tally> {
  await c.sink.reset();
  const recipients = Array.from({ length: n }, (_, i) => ({ email: `${prefix}${i}@${DOMAIN}` }));
  const d = await c.api('POST', '/deliveries', { label: prefix, from: { address: 'news@shop.test' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', recipients });
  await c.api('POST', `/deliveries/${d.id}/analyze`);
  const t0 = Date.now();
  await c.api('POST', `/deliveries/${d.id}/confirm`);
  let end;
  try {
    await during?.();
    end = await waitFor('the delivery finished', async () => {
      const v = await c.api('GET', `/deliveries/${d.id}`);
      if (['failed', 'stopped'].includes(v.state)) throw new Error(`delivery ${v.state}: ${JSON.stringify(v.kpis)}`);
      return v.state === 'finished' && v;
    }, 60_000, 100);
  } catch (err) {
    // Its messages must not go on arriving during the next test.
    await c.api('POST', `/deliveries/${d.id}/stop`).catch(() => {});
    throw err;
  }
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(end.kpis.sent, n, `sent: ${JSON.stringify(end.kpis)}`);
  await new Promise((r) => setTimeout(r, 500)); // a late duplicate would arrive now
  const received = await c.sink.recipients();
  const tally: Tally = { id: d.id, seconds, received, lost: [], duplicated: [], duplicates: 0, byAddress: {} };
  for (const { email } of recipients) {
    const got = received[email] ?? [];
    if (!got.length) tally.lost.push(email);
    if (got.length > 1) {
      tally.duplicated.push(email);
      tally.duplicates += got.length - 1;
    }
    for (const [address] of got) tally.byAddress[address] = (tally.byAddress[address] ?? 0) + 1;
  }
  return tally;
}

/** Waits until `node` has delivered `sent` messages of the current delivery and holds `held` leases. */
async function whileSending(c: Cluster, node: MtaNode, sent: number, held: number): Promise<void> {
  await waitFor(`${node.name} sending`, async () => {
    if (((await c.sink.counts()).byAddress[node.address] ?? 0) < sent) return false;
    return (await leasedTo(c, node.owner)).length >= held;
  }, 30_000, 20);
}

const leasedTo = (c: Cluster, owner: string) => c.db.kysely.selectFrom('mta_spool').select(['rcpt_to', 'next_attempt_at']).where('lease_owner', '=', owner).execute();
const shares = (t: Tally) => Object.entries(t.byAddress).map(([a, n]) => `${a} ${n}`).join(', ');

test('three MTA hosts share a delivery: each message arrives once, from the address of the node that sent it', { skip: skipped ?? false, timeout: 120_000 }, async (t) => {
  const c = ready(t);
  if (!c) return;
  await threeNodes(c);
  const N = 3000;
  const r = await deliver(c, 'three', N);
  console.log(`three MTA nodes: ${N} messages in ${r.seconds.toFixed(1)} s; received per sending address: ${shares(r)}; lost ${r.lost.length}, duplicates ${r.duplicates}`);
  assert.deepEqual(r.lost, [], 'every message arrived');
  assert.equal(r.duplicates, 0, `sent twice: ${r.duplicated.slice(0, 5).join(', ')}`);
  const addresses = [1, 2, 3].map((i) => c.mtaAddress(i));
  assert.deepEqual(Object.keys(r.byAddress).filter((a) => !addresses.includes(a)), [], 'nothing came from an address that is not an MTA node\'s');
  for (const a of addresses) assert.ok((r.byAddress[a] ?? 0) > 0, `the node at ${a} sent a share (${shares(r)})`);
  // What Estafeta recorded as each message's source IP is the address the sink saw.
  const events = await c.db.kysely.selectFrom('events').innerJoin('delivery_logs', 'delivery_logs.id', 'events.log_id').select(['delivery_logs.address', 'events.payload']).where('events.delivery_id', '=', r.id).where('events.type', '=', 'delivered').execute();
  assert.equal(events.length, N);
  const mismatched = events.filter((e) => JSON.parse(e.payload).sourceIp !== r.received[e.address][0][0]);
  assert.deepEqual(mismatched.slice(0, 3), [], 'the delivered events name the address the sink saw');
});

test(`kill -9 of one MTA node among three while it sends: nothing lost, a duplicate only among its leased messages (at most mta.maxInFlight = ${MAX_IN_FLIGHT}), taken over once its leases (${LEASE}) run out`, { skip: skipped ?? false, timeout: 120_000 }, async (t) => {
  const c = ready(t);
  if (!c) return;
  await threeNodes(c);
  const victim = nodes[2];
  const N = 2000;
  let killedAt = 0;
  let leased: { rcpt_to: string; next_attempt_at: number }[] = [];
  const r = await deliver(c, 'kill', N, async () => {
    await whileSending(c, victim, 50, 20);
    await victim.kill9();
    killedAt = Date.now();
    // A commit the dead node had sent may still land: read its leases once that is over.
    await new Promise((res) => setTimeout(res, 300));
    leased = await leasedTo(c, victim.owner);
  });
  const leasedSet = new Set(leased.map((l) => l.rcpt_to));
  const takenOver = leased.map((l) => ({ ...l, by: r.received[l.rcpt_to]?.filter(([a, at]) => a !== victim.address && at >= killedAt) ?? [] }));
  const recoverySeconds = Math.max(0, ...takenOver.flatMap((l) => l.by.map(([, at]) => at - killedAt))) / 1000;
  const leasesRunOutSeconds = Math.max(0, ...leased.map((l) => Number(l.next_attempt_at) - killedAt)) / 1000;
  console.log(`kill -9 of ${victim.name} (${victim.address}) among three: ${N} messages, received per sending address: ${shares(r)}; ${leased.length} leased to it when it died (the bound: mta.maxInFlight = ${MAX_IN_FLIGHT}); lost ${r.lost.length}, duplicates ${r.duplicates}; its leases ran out ${leasesRunOutSeconds.toFixed(1)} s after the kill (lease ${LEASE}), its last leased message was delivered by another node ${recoverySeconds.toFixed(1)} s after it`);
  assert.deepEqual(r.lost, [], 'every message arrived');
  assert.ok(leased.length > 0 && leased.length <= MAX_IN_FLIGHT, `${leased.length} leased to the dead node`);
  assert.deepEqual(r.duplicated.filter((rcpt) => !leasedSet.has(rcpt)), [], 'only a message leased to the dead node went out twice');
  assert.ok(r.duplicates <= leased.length, `${r.duplicates} duplicates, ${leased.length} leased`);
  for (const l of takenOver) {
    assert.ok(l.by.length === 1, `${l.rcpt_to}: delivered once by another node after the kill (${JSON.stringify(r.received[l.rcpt_to])})`);
    // Taken over only once its lease ran out (50 ms: the sink's clock reading is not the claim's).
    assert.ok(l.by[0][1] >= Number(l.next_attempt_at) - 50, `${l.rcpt_to} re-sent ${Number(l.next_attempt_at) - l.by[0][1]} ms before its lease ran out`);
  }
  for (const i of [1, 3]) assert.ok((r.byAddress[c.mtaAddress(i)] ?? 0) > 0, `the surviving node at ${c.mtaAddress(i)} sent a share`);
});

test('SIGTERM of one MTA node among three while it sends drains it: nothing lost, nothing sent twice', { skip: skipped ?? false, timeout: 120_000 }, async (t) => {
  const c = ready(t);
  if (!c) return;
  await threeNodes(c);
  // One that has been counted by the others for a while (a restarted node may still hold back).
  const drained = nodes[3];
  assert.ok(alive(drained));
  const N = 2000;
  let exitCode: number | null = -1;
  let drainMs = 0;
  const r = await deliver(c, 'drain', N, async () => {
    await whileSending(c, drained, 20, 10);
    const t0 = Date.now();
    exitCode = await drained.stop();
    drainMs = Date.now() - t0;
  });
  console.log(`SIGTERM of ${drained.name} (${drained.address}) among three: exit ${exitCode} after ${drainMs} ms; ${N} messages, received per sending address: ${shares(r)}; lost ${r.lost.length}, duplicates ${r.duplicates}`);
  assert.equal(exitCode, 0, drained.output());
  assert.deepEqual(r.lost, [], 'every message arrived');
  assert.equal(r.duplicates, 0, `sent twice: ${r.duplicated.slice(0, 5).join(', ')}`);
  assert.equal((await leasedTo(c, drained.owner)).length, 0, 'the drained node left no lease');
  const live = await c.db.kysely.selectFrom('mta_processes').select('owner').where('owner', '=', drained.owner).execute();
  assert.equal(live.length, 0, 'the drained node left the live MTA processes');
  assert.ok((r.byAddress[drained.address] ?? 0) > 0);
});
