/**
 * Nothing is lost on a crash, and nothing is sent twice by two workers: Estafeta runs as a
 * separate process, is killed with kill -9 while its MTA holds messages it accepted, and
 * delivers them all after a restart; on PostgreSQL, two MTA processes share one spool and
 * every recipient receives exactly one message, and each counts the other (MX rules' limits
 * are split between the MTA processes alive). Killed while it sends, the MTA re-sends only
 * what was in flight (the README's "Storage and scaling out" names the window): the test
 * counts those duplicates and prints them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SMTPServer } from 'smtp-server';
import { startSimDns } from '../src/sim/dns-server.ts';
import { createTestDatabaseUrl, isPostgresTest } from '../src/db/testing.ts';
import { fastRetryPolicyDir, waitFor } from './helpers/estafeta.ts';
import { freePort, startSink } from './helpers/smtp-sink.ts';
import { apiKeyFor, startChild, withDatabase } from './helpers/child.ts';

const MX = '127.0.3.51';

async function deliver(child: Awaited<ReturnType<typeof startChild>>, n: number): Promise<number> {
  const created = await child.api('POST', '/deliveries', { from: { address: 'news@shop.test' }, subject: 'Hi {{ n }}', text: 'Hi {{ n }} {{ unsubscribeUrl }}', recipients: Array.from({ length: n }, (_, i) => ({ email: `r${i}@durable.test`, n: String(i) })) });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await child.api('POST', `/deliveries/${created.body.id}/analyze`)).status, 200);
  assert.equal((await child.api('POST', `/deliveries/${created.body.id}/confirm`)).status, 200);
  return created.body.id;
}

test('messages the MTA accepted survive kill -9 and are delivered after a restart', { timeout: 120_000 }, async () => {
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'durable.test', type: 'MX', exchange: 'mx.durable.test', priority: 5 }, { name: 'mx.durable.test', type: 'A', address: MX }] });
  const db = await createTestDatabaseUrl();
  const env = { DATABASE_URL: db.url, ESTAFETA_DNS_SERVERS: `127.0.0.1:${dns.port}`, ESTAFETA_MX_PORT: String(port), ESTAFETA_POLICY_DIR: fastRetryPolicyDir(), ESTAFETA_MTA_LEASE: '4s' };
  const key = await apiKeyFor(db.url);
  let child = await startChild(env, key);
  let sink: Awaited<ReturnType<typeof startSink>> | null = null;
  try {
    // No MX is listening yet: every message is taken into account, then deferred.
    const id = await deliver(child, 300);
    await waitFor('every message in the MTA', async () => ((await child.api('GET', `/deliveries/${id}`)).body.kpis.takenIntoAccount === 300 ? true : null), 30_000);
    await child.kill9();

    sink = await startSink(MX, port);
    child = await startChild(env, key);
    const done = await waitFor('the delivery to finish', async () => {
      const d = (await child.api('GET', `/deliveries/${id}`)).body;
      return d.state === 'finished' ? d : null;
    }, 60_000, 300);
    assert.equal(done.kpis.sent, 300);
    assert.equal(sink.received.length, 300);
    assert.equal(new Set(sink.received.map((m) => m.to[0])).size, 300);
  } finally {
    await child.stop();
    await sink?.stop();
    await dns.stop();
    await db.cleanup();
  }
});

/** How long the MTA holds outcomes before writing them (engine.ts: OutcomeWriter maxDelayMs). */
const OUTCOME_BATCH_MS = 100;
/**
 * Time for the outcomes' commit itself on a machine shared by parallel tests (a few ms when
 * idle): a message the MX accepted longer than batch + commit before the kill is on disk.
 */
const COMMIT_ALLOWANCE_MS = 400;

/** An MX that takes `delayMs` to answer each DATA, keeping when it accepted what, and open sessions. */
async function startPacedSink(host: string, port: number, delayMs: number, onAccepted: (count: number) => void) {
  const received: { to: string; at: number }[] = [];
  const sessions = { now: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    onConnect(_s, cb) {
      sessions.now++;
      cb();
    },
    onClose() {
      sessions.now--;
    },
    onData(stream, session, cb) {
      stream.resume();
      stream.on('end', () => {
        // Recorded when the whole message is in, before the 250: a kill in between re-sends it.
        received.push({ to: session.envelope.rcptTo[0].address, at: Date.now() });
        onAccepted(received.length);
        setTimeout(() => cb(null), delayMs);
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { received, sessions, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test('kill -9 while sending re-sends only what was in flight, and loses nothing', { timeout: 180_000 }, async () => {
  const N = 2400;
  const KILLS = 3;
  const EVERY = 600; // messages accepted by the MX between two kills
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'durable.test', type: 'MX', exchange: 'mx.durable.test', priority: 5 }, { name: 'mx.durable.test', type: 'A', address: MX }] });
  const db = await createTestDatabaseUrl();
  const env = { DATABASE_URL: db.url, ESTAFETA_DNS_SERVERS: `127.0.0.1:${dns.port}`, ESTAFETA_MX_PORT: String(port), ESTAFETA_POLICY_DIR: fastRetryPolicyDir(), ESTAFETA_MTA_LEASE: '2s' };
  const key = await apiKeyFor(db.url);
  let child = await startChild(env, key);
  // restartAt: the dead process has exited; what the MX accepts later comes from the next one.
  const kills: { at: number; restartAt: number; sessionsOpen: number; acceptedInWindow: number }[] = [];
  let killAt = EVERY;
  let killed: () => void = () => {};
  let nextKill = new Promise<void>((resolve) => (killed = resolve));
  const sink = await startPacedSink(MX, port, 10, (count) => {
    if (count < killAt) return;
    killAt = Infinity;
    // Killed from inside the MX's own handler: the kill lands while sessions are mid-transfer.
    child.process.kill('SIGKILL');
    kills.push({ at: Date.now(), restartAt: Infinity, sessionsOpen: sink.sessions.now, acceptedInWindow: 0 });
    killed();
  });
  try {
    const id = await deliver(child, N);
    for (let i = 0; i < KILLS; i++) {
      await nextKill;
      await child.kill9();
      kills[i].restartAt = Date.now();
      nextKill = new Promise<void>((resolve) => (killed = resolve));
      child = await startChild(env, key);
      if (i + 1 < KILLS) killAt = sink.received.length + EVERY;
    }
    const done = await waitFor('the delivery to finish', async () => {
      const d = (await child.api('GET', `/deliveries/${id}`)).body;
      return d.state === 'finished' ? d : null;
    }, 90_000, 300);

    // Nothing lost: every recipient got the message, and every log says Sent.
    assert.equal(done.kpis.sent, N);
    const copies = new Map<string, number[]>();
    for (const m of sink.received) copies.set(m.to, [...(copies.get(m.to) ?? []), m.at]);
    assert.equal(copies.size, N, 'every recipient received the message');

    // What came twice was accepted by the MX just before a kill, while its outcome waited
    // for the next batch write (or for the MX's 250): never more than that window holds.
    const windowMs = OUTCOME_BATCH_MS + COMMIT_ALLOWANCE_MS;
    for (const k of kills) k.acceptedInWindow = sink.received.filter((m) => m.at <= k.restartAt && m.at > k.at - windowMs).length;
    const perKill = kills.map(() => 0);
    let oldestMs = 0;
    for (const [to, ats] of copies) {
      for (let c = 1; c < ats.length; c++) {
        // The copy that was re-sent is the last one the process killed had sent.
        const k = kills.findIndex((kk, i) => ats[c - 1] <= kk.restartAt && ats[c] > kk.restartAt && (i === 0 || ats[c - 1] > kills[i - 1].restartAt));
        assert.ok(k >= 0, `${to} was received twice from one process: ${ats.map((a) => new Date(a).toISOString()).join(', ')}`);
        perKill[k]++;
        oldestMs = Math.max(oldestMs, kills[k].at - ats[c - 1]);
      }
    }
    const duplicates = sink.received.length - N;
    const bound = kills.reduce((sum, k) => sum + k.acceptedInWindow + k.sessionsOpen, 0);
    const report = `kill -9 while sending: ${N} messages, ${KILLS} kills, ${duplicates} sent twice (per kill: ${perKill.join(', ')}); accepted by the MX in the ${windowMs} ms before each kill: ${kills.map((k) => k.acceptedInWindow).join(', ')}, sessions open: ${kills.map((k) => k.sessionsOpen).join(', ')}; the oldest re-sent one was accepted ${oldestMs} ms before its kill`;
    console.log(report);
    assert.equal(perKill.reduce((a, b) => a + b, 0), duplicates);
    assert.ok(oldestMs <= windowMs, report);
    perKill.forEach((n, i) => assert.ok(n <= kills[i].acceptedInWindow + kills[i].sessionsOpen, `kill ${i + 1}: ${n} re-sent, more than were in flight. ${report}`));
    assert.ok(duplicates <= bound, report);
  } finally {
    await child.stop();
    await sink.stop();
    await dns.stop();
    await db.cleanup();
  }
});

test('two MTA processes on one PostgreSQL spool never send a message twice', { timeout: 120_000, skip: !isPostgresTest() && 'needs PostgreSQL (DATABASE_URL=postgres://...): SQLite runs one MTA process' }, async () => {
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'durable.test', type: 'MX', exchange: 'mx.durable.test', priority: 5 }, { name: 'mx.durable.test', type: 'A', address: MX }] });
  const sink = await startSink(MX, port);
  const db = await createTestDatabaseUrl();
  const env = { DATABASE_URL: db.url, ESTAFETA_DNS_SERVERS: `127.0.0.1:${dns.port}`, ESTAFETA_MX_PORT: String(port), ESTAFETA_POLICY_DIR: fastRetryPolicyDir(), ESTAFETA_MTA_LEASE: '4s' };
  const key = await apiKeyFor(db.url);
  const front = await startChild(env, key, 'api,sender,feedback');
  const mta1 = await startChild(env, key, 'mta');
  const mta2 = await startChild(env, key, 'mta');
  try {
    const id = await deliver(front, 2000);
    const done = await waitFor('the delivery to finish', async () => {
      const d = (await front.api('GET', `/deliveries/${id}`)).body;
      return d.state === 'finished' ? d : null;
    }, 90_000, 300).catch(async (err) => {
      console.error(JSON.stringify((await front.api('GET', `/deliveries/${id}`)).body.kpis), sink.received.length);
      const m = (await front.api('GET', `/mta/messages?limit=5`)).body.messages;
      console.error(JSON.stringify(m), Date.now());
      const q = (await front.api('GET', `/mta/queues`)).body;
      console.error(JSON.stringify(q.spool));
      throw err;
    });
    assert.equal(done.kpis.sent, 2000);
    assert.equal(sink.received.length, 2000, 'exactly one message per recipient');
    assert.equal(new Set(sink.received.map((m) => m.to[0])).size, 2000);
    // Both MTA processes are alive for each other, so each takes half of every MX rule.
    const peers = await withDatabase(db.url, (q) => q.selectFrom('mta_processes').select(['owner', 'heartbeat_at']).execute());
    assert.equal(peers.length, 2, JSON.stringify(peers));
    assert.ok(peers.every((p) => Date.now() - Number(p.heartbeat_at) < 20_000), JSON.stringify(peers));
  } finally {
    await Promise.all([front.stop(), mta1.stop(), mta2.stop()]);
    await sink.stop();
    await dns.stop();
    await db.cleanup();
  }
});
