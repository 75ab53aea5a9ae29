/**
 * Draining an MTA node during a delivery loses nothing and sends nothing twice. On
 * PostgreSQL two Estafeta processes share the spool (one runs the API, sender, feedback and
 * an MTA; the other an API and an MTA) and the first is drained through
 * `POST /api/v1/mta/drain` while it sends: what it had not started goes back to the spool at
 * once and the second takes it over. On SQLite, where one MTA runs per database file, the
 * only MTA is drained and a successor started afterwards delivers the rest. Then, on
 * PostgreSQL, `estafeta start` as a child process gets SIGTERM during a delivery: it drains,
 * exits leaving no lease behind (with a 10-minute lease, a leftover would stall the test),
 * and the other process delivers the rest. Each prints the losses and duplicates it counted
 * at a slow receiving MX (100 ms per message). Last, a drain whose timeout ends before its
 * transactions (an MX taking 3 s per message) keeps only their leases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput } from '../src/config/index.ts';
import { startEstafeta, type App } from '../src/app/start.ts';
import { createApiKey } from '../src/auth/index.ts';
import { LogStatus } from '../src/deliveries/index.ts';
import { createTestDatabaseUrl, isPostgresTest } from '../src/db/testing.ts';
import { silentLogger } from '../src/lib/logger.ts';
import { startSimDns } from '../src/sim/dns-server.ts';
import { fastRetryPolicyDir, startTestEstafeta, TEST_ADMIN_PASSWORD, waitFor } from './helpers/estafeta.ts';
import { freePort, startSink } from './helpers/smtp-sink.ts';
import { apiKeyFor, freeTcpPort, startChild, withDatabase } from './helpers/child.ts';

const MX = '127.0.4.31';
const RECIPIENTS = 400;

test(`a drained MTA node hands its messages over: none lost, none sent twice (${isPostgresTest() ? 'two nodes on PostgreSQL' : 'SQLite: drain, then a successor'})`, { timeout: 120_000 }, async () => {
  const database = await createTestDatabaseUrl();
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'drain.test', type: 'MX', exchange: 'mx.drain.test', priority: 10 }, { name: 'mx.drain.test', type: 'A', address: MX }] });
  const sink = await startSink(MX, port, () => null, { dataDelayMs: 100 });
  process.env.ESTAFETA_ADMIN_PASSWORD ??= TEST_ADMIN_PASSWORD;
  const base = { database: { url: database.url }, log: { level: 'silent' }, policy: { dir: fastRetryPolicyDir() }, dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port, heloName: 'estafeta.test', maxConnectionsPerSite: 8 }, bounces: { listen: { host: '127.0.0.1', port: 0 } } } satisfies ConfigInput;
  const start = (roles: ConfigInput['roles']) => startEstafeta(configSchema.parse({ ...base, roles, http: { host: '127.0.0.1', port: 0 } }), { logger: silentLogger });
  const apps: App[] = [];
  try {
    const main = await start(['api', 'sender', 'feedback', 'inbound', 'mta']);
    apps.push(main);
    const pg = isPostgresTest();
    // The node drained is the one whose sender wakes its MTA first, so that it holds most of
    // the work; on PostgreSQL a second node runs beside it, on SQLite one starts after it.
    const other = pg ? await start(['api', 'mta']) : null;
    if (other) apps.push(other);
    const drained = main;
    const key = (await createApiKey(main.db.kysely, { name: 'drain', role: 'operator', createdBy: 'test' })).key;
    const call = async (app: App, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${app.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
      return { status: res.status, body: await res.json() };
    };
    assert.equal((await call(drained, 'GET', '/health/ready')).status, 200);
    // A node that just started holds back until the others count it (shaping/peers.ts).
    if (other) await waitFor('both MTA nodes counted', async () => !other.engine!.peers.holding && !main.engine!.peers.holding && main.engine!.peers.count === 2, 20_000, 100);

    const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({ email: `r${i}@drain.test` }));
    const d = (await call(main, 'POST', '/deliveries', { label: 'Drain', from: { address: 'news@shop.example' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', recipients })).body;
    await call(main, 'POST', `/deliveries/${d.id}/analyze`);
    assert.equal((await call(main, 'POST', `/deliveries/${d.id}/confirm`)).body.state, 'start-pending');

    // Drain while the node sends, with messages still queued behind its sessions.
    await waitFor('the node to drain is sending', async () => drained.engine!.stats().delivered >= 10 && drained.engine!.inMemory.size > 20, 30_000, 20);
    const held = drained.engine!.inMemory.size;
    const drain = await call(drained, 'POST', '/mta/drain', { timeout: '20s' });
    assert.equal(drain.status, 200, JSON.stringify(drain.body));
    const report = drain.body;
    assert.equal(report.unfinished, 0, 'every open transaction ended within the timeout');
    assert.ok(report.handedBack > 0, `handed back ${report.handedBack} of the ${held} it held`);
    assert.equal(report.mtaProcesses, pg ? 1 : 0, 'the drained node left the live MTA processes');
    assert.equal(drained.engine!.inMemory.size, 0);
    const ready = await call(drained, 'GET', '/health/ready');
    assert.equal(ready.status, 503);
    assert.match(ready.body.reason, /draining/);
    // Nothing of its is leased any more: the others can claim all of it at once.
    const leased = await main.db.kysely.selectFrom('mta_spool').select('id').where('lease_owner', '=', drained.engine!.owner).execute();
    assert.equal(leased.length, 0);

    if (!pg) apps.push(await start(['mta']));
    await waitFor('every recipient delivered and the delivery finished', async () => {
      const row = await main.db.kysely.selectFrom('deliveries').select('state').where('id', '=', d.id).executeTakeFirstOrThrow();
      return row.state === 95 && sink.received.length >= RECIPIENTS;
    }, 60_000, 100);
    await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive now
    const per = new Map<string, number>();
    for (const m of sink.received) for (const to of m.to) per.set(to, (per.get(to) ?? 0) + 1);
    const lost = recipients.filter((r) => !per.has(r.email)).length;
    const duplicates = [...per.values()].reduce((n, c) => n + c - 1, 0);
    console.log(`drain (${pg ? 'PostgreSQL, two nodes' : 'SQLite, drain then successor'}): ${RECIPIENTS} recipients, ${sink.received.length} messages received, lost ${lost}, duplicates ${duplicates}; drained node: ${report.finished} finished while draining, ${report.handedBack} handed back, ${report.unfinished} unfinished, in ${report.ms} ms`);
    assert.equal(lost, 0);
    assert.equal(duplicates, 0);
    const kpis = (await call(main, 'GET', `/deliveries/${d.id}`)).body;
    assert.equal(kpis.kpis?.sent ?? kpis.sent, RECIPIENTS, JSON.stringify(kpis).slice(0, 300));
  } finally {
    for (const app of apps.reverse()) await app.stop();
    await sink.stop();
    await dns.stop();
    await database.cleanup();
  }
});

test('SIGTERM drains an MTA process among two on PostgreSQL: it exits without leaving a lease, the other delivers the rest once', { timeout: 120_000, skip: !isPostgresTest() && 'needs PostgreSQL (DATABASE_URL=postgres://...): SQLite runs one MTA process' }, async () => {
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'drain.test', type: 'MX', exchange: 'mx.drain.test', priority: 10 }, { name: 'mx.drain.test', type: 'A', address: MX }] });
  const sink = await startSink(MX, port, () => null, { dataDelayMs: 100 });
  const db = await createTestDatabaseUrl();
  // A long lease: a process that left its leases behind would hold the delivery past the test's end.
  const env = { DATABASE_URL: db.url, ESTAFETA_DNS_SERVERS: `127.0.0.1:${dns.port}`, ESTAFETA_MX_PORT: String(port), ESTAFETA_POLICY_DIR: fastRetryPolicyDir(), ESTAFETA_MTA_LEASE: '10m' };
  const key = await apiKeyFor(db.url);
  const front = await startChild(env, key, 'api,sender,feedback,mta');
  const second = await startChild(env, key, 'mta');
  try {
    // The second process may still be starting; and a newcomer holds back one heartbeat.
    await waitFor('both MTA processes live', async () => (await withDatabase(db.url, (q) => q.selectFrom('mta_processes').select('owner').execute())).length === 2, 30_000, 200);
    await new Promise((r) => setTimeout(r, 5500));
    const created = await front.api('POST', '/deliveries', { from: { address: 'news@shop.example' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', recipients: Array.from({ length: RECIPIENTS }, (_, i) => ({ email: `r${i}@drain.test` })) });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await front.api('POST', `/deliveries/${created.body.id}/analyze`);
    await front.api('POST', `/deliveries/${created.body.id}/confirm`);
    await waitFor('some messages received', async () => sink.received.length >= 40, 30_000, 20);
    const before = await withDatabase(db.url, (q) => q.selectFrom('mta_processes').select('owner').execute());
    assert.equal(before.length, 2, `live MTA processes: ${JSON.stringify(before)}, second exited: ${second.process.exitCode}`);
    // The front process drains its MTA on SIGTERM; it holds most of the delivery (its sender woke it first).
    const t0 = Date.now();
    await front.stop();
    const exitMs = Date.now() - t0;
    const after = await withDatabase(db.url, async (q) => ({
      processes: await q.selectFrom('mta_processes').select('owner').execute(),
      orphans: await q.selectFrom('mta_spool').select('id').where('lease_owner', 'is not', null).where('lease_owner', 'not in', q.selectFrom('mta_processes').select('owner')).execute(),
    }));
    assert.equal(after.processes.length, 1, 'the stopped process left the live MTA processes');
    assert.equal(after.orphans.length, 0, 'no message is leased to the stopped process');
    // The sender stopped with the front process: what it had spooled is delivered by the other.
    const spooled = await withDatabase(db.url, async (q) => Number((await q.selectFrom('delivery_logs').select((eb) => eb.fn.countAll<number>().as('n')).where('delivery_id', '=', created.body.id).where('status', '!=', LogStatus.Pending).executeTakeFirstOrThrow()).n));
    await waitFor('every spooled message delivered', async () => (await withDatabase(db.url, (q) => q.selectFrom('mta_spool').select('id').execute())).length === 0 && sink.received.length >= spooled, 60_000, 200);
    await new Promise((r) => setTimeout(r, 500));
    const per = new Map<string, number>();
    for (const m of sink.received) for (const to of m.to) per.set(to, (per.get(to) ?? 0) + 1);
    const duplicates = [...per.values()].reduce((n, c) => n + c - 1, 0);
    const lost = spooled - per.size;
    console.log(`SIGTERM drain (PostgreSQL, two processes): exit in ${exitMs} ms, ${spooled} messages spooled, ${sink.received.length} received, lost ${lost}, duplicates ${duplicates}`);
    assert.equal(lost, 0);
    assert.equal(duplicates, 0);
  } finally {
    await front.stop();
    await second.stop();
    await sink.stop();
    await dns.stop();
    await db.cleanup();
  }
});

test(`an idle estafeta start exits within 5 s of SIGTERM (${isPostgresTest() ? 'PostgreSQL, webhooks on their own thread' : 'SQLite'})`, { timeout: 60_000 }, async () => {
  const db = await createTestDatabaseUrl();
  const child = await startChild({ DATABASE_URL: db.url, ESTAFETA_MX_PORT: String(await freeTcpPort()), ESTAFETA_SUBMISSION_PORT: String(await freeTcpPort()) }, await apiKeyFor(db.url), 'api,sender,mta,inbound,feedback,submission');
  try {
    // Its SIGTERM handler is installed once everything has started, when it prints the banner.
    await waitFor('the start banner', async () => child.output().includes('Press Ctrl-C'), 30_000, 50);
    const t0 = Date.now();
    await child.stop();
    const exitMs = Date.now() - t0;
    console.log(`exited ${exitMs} ms after SIGTERM`);
    // A timer left by a thread's stop kept the process alive for 12 s after it had stopped.
    assert.ok(exitMs < 5000, `exited ${exitMs} ms after SIGTERM`);
    assert.equal(child.process.exitCode, 0);
  } finally {
    await child.stop();
    await db.cleanup();
  }
});

test('a SIGTERM while estafeta start is still starting its roles stops it cleanly once they have started', { timeout: 60_000 }, async () => {
  const db = await createTestDatabaseUrl();
  // startChild returns as soon as the API answers, before the other roles have started.
  const child = await startChild({ DATABASE_URL: db.url, ESTAFETA_MX_PORT: String(await freeTcpPort()), ESTAFETA_SUBMISSION_PORT: String(await freeTcpPort()) }, await apiKeyFor(db.url), 'api,sender,mta,inbound,feedback,submission');
  try {
    await child.stop();
    // Before, the signal's default action ended it (no exit code, SIGTERM) with its roles half started.
    assert.equal(child.process.signalCode, null, child.output().slice(-1000));
    assert.equal(child.process.exitCode, 0);
    assert.match(child.output(), /stopping\.\.\./);
  } finally {
    await child.stop();
    await db.cleanup();
  }
});

test('a drain that times out keeps the leases of the messages still in their SMTP transaction, and their outcomes are written when they end', { timeout: 60_000 }, async () => {
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'drain.test', type: 'MX', exchange: 'mx.drain.test', priority: 10 }, { name: 'mx.drain.test', type: 'A', address: MX }] });
  // An MX that takes 3 s to accept each message.
  const sink = await startSink(MX, port, () => null, { dataDelayMs: 3000 });
  const e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port } });
  try {
    const d = (await e.api('POST', '/deliveries', { label: 'Slow', from: { address: 'news@shop.example' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', recipients: [1, 2, 3].map((i) => ({ email: `s${i}@drain.test` })) })).body;
    await e.api('POST', `/deliveries/${d.id}/analyze`);
    await e.api('POST', `/deliveries/${d.id}/confirm`);
    const engine = e.app.engine!;
    await waitFor('one message in its transaction', async () => [...engine.inMemory.values()].some((w) => w.sending), 20_000, 20);
    const r = await e.api('POST', '/mta/drain', { timeout: '300ms' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const { finished, handedBack, unfinished } = r.body;
    assert.equal(finished, 0);
    assert.ok(unfinished >= 1, `${unfinished} unfinished`);
    assert.equal(finished + handedBack + unfinished, 3);
    assert.ok(r.body.ms < 2000, `${r.body.ms} ms`);
    const leased = await e.app.db.kysely.selectFrom('mta_spool').select(['rcpt_to', 'lease_owner']).where('lease_owner', 'is not', null).execute();
    assert.deepEqual(leased.map((x) => x.lease_owner), Array(unfinished).fill(engine.owner), 'only the messages in their transaction stay leased');
    // The process lives on: the late transactions end and their outcomes are written.
    await waitFor('the late transactions written', async () => engine.inMemory.size === 0, 20_000, 100);
    assert.equal(sink.received.length, unfinished);
  } finally {
    await e.stop();
    await sink.stop();
    await dns.stop();
  }
});
