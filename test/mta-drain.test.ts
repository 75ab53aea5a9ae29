/**
 * Draining an MTA node during a delivery loses nothing and sends nothing twice. On
 * PostgreSQL two Estafeta processes share the spool (one runs the API, sender, feedback and
 * an MTA; the other an API and an MTA) and the first is drained through
 * `POST /api/v1/mta/drain` while it sends: what it had not started goes back to the spool at
 * once and the second takes it over. On SQLite, where one MTA runs per database file, the
 * only MTA is drained and a successor started afterwards delivers the rest. Both print the
 * losses and duplicates they counted at a slow receiving MX (100 ms per message).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput } from '../src/config/index.ts';
import { startEstafeta, type App } from '../src/app/start.ts';
import { createApiKey } from '../src/auth/index.ts';
import { createTestDatabaseUrl, isPostgresTest } from '../src/db/testing.ts';
import { silentLogger } from '../src/lib/logger.ts';
import { startSimDns } from '../src/sim/dns-server.ts';
import { fastRetryPolicyDir, TEST_ADMIN_PASSWORD, waitFor } from './helpers/estafeta.ts';
import { freePort, startSink } from './helpers/smtp-sink.ts';

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
