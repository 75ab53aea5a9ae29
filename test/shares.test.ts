/**
 * Three MTA processes on one PostgreSQL spool split an MX rule by what each has to send
 * (shaping/peers.ts), measured at the receiving MX. A small delivery claimed by one process
 * goes out at about the rule's whole rate, not a third of it; a larger one, claimed 100
 * messages at a time by all three, goes out at the rule's rate in total (600 a minute ± 10 %,
 * measured over 30 s: the rate is a token bucket with a one-second burst per process and the
 * parts move every second, so the error is the same over 30 s as over a minute, as a share
 * of the count, to within the burst) and the connections open at the MX never add up to more
 * than the rule's. Only on PostgreSQL: on SQLite one MTA process runs per database file.
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

const MX = '127.0.4.51';
const RULE = 'rules:\n  - { name: shares, mx: ["*.shares.test"], messagesPerMinute: 600, maxConnections: 3, maxMessagesPerConnection: 50 }\n  - { name: default, mx: ["*"] }\n';

test('three MTA processes split a rule by what each has to send: a small delivery goes at the whole rate, a large one at the rule\'s rate in total, within its connections', { timeout: 120_000, skip: !isPostgresTest() && 'several MTA processes share a spool only on PostgreSQL (set DATABASE_URL); on SQLite one MTA runs per database file' }, async () => {
  const database = await createTestDatabaseUrl();
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'shares.test', type: 'MX', exchange: 'mx.shares.test', priority: 10 }, { name: 'mx.shares.test', type: 'A', address: MX }] });
  const sink = await startSink(MX, port);
  const times: number[] = [];
  const push = sink.received.push.bind(sink.received);
  sink.received.push = (...items) => {
    for (let i = 0; i < items.length; i++) times.push(Date.now());
    return push(...items);
  };
  process.env.ESTAFETA_ADMIN_PASSWORD ??= TEST_ADMIN_PASSWORD;
  // 100 messages in memory at most: each process claims at most 100 at a time, so a large
  // delivery spreads over the three.
  const base = { database: { url: database.url }, log: { level: 'silent' }, policy: { dir: fastRetryPolicyDir({ 'mx-rules.yaml': RULE }) }, dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port, heloName: 'estafeta.test', maxInFlight: 100 } } satisfies ConfigInput;
  const start = (roles: ConfigInput['roles']) => startEstafeta(configSchema.parse({ ...base, roles, http: { host: '127.0.0.1', port: 0 } }), { logger: silentLogger });
  const apps: App[] = [];
  try {
    const main = await start(['api', 'sender', 'feedback', 'mta']);
    apps.push(main, await start(['mta']), await start(['mta']));
    const engines = apps.map((a) => a.engine!);
    await waitFor('the three MTA processes counted by each other', async () => engines.every((e) => e.peers.count === 3 && !e.peers.holding), 20_000, 100);
    const key = (await createApiKey(main.db.kysely, { name: 'shares', role: 'operator', createdBy: 'test' })).key;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${main.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
      return res.json();
    };
    const send = async (n: number, prefix: string) => {
      const d = await call('POST', '/deliveries', { label: prefix, from: { address: 'news@shop.example' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', recipients: Array.from({ length: n }, (_, i) => ({ email: `${prefix}${i}@shares.test` })) });
      await call('POST', `/deliveries/${d.id}/analyze`);
      assert.equal((await call('POST', `/deliveries/${d.id}/confirm`)).state, 'start-pending');
    };
    const delivered = () => engines.map((e) => e.stats().delivered);

    // A small delivery: 60 messages at 600 a minute take about 5 s (a third: about 17 s).
    await send(60, 'small');
    await waitFor('the small delivery delivered', async () => times.length === 60, 40_000, 50);
    const smallSeconds = (times[59] - times[0]) / 1000;
    const smallSplit = delivered();
    const smallRate = Math.round((59 / smallSeconds) * 60);
    console.log(`small delivery: 60 messages in ${smallSeconds.toFixed(1)} s (${smallRate} a minute), by process ${smallSplit.join('/')}; connections at the MX at most ${sink.connections.max}`);
    assert.ok(smallSeconds <= 8.5, `60 messages in ${smallSeconds.toFixed(1)} s (${smallRate} a minute): at least 420 a minute expected of a rule of 600`);

    // A larger delivery, spread over the three processes: 600 a minute in total.
    const before = times.length;
    await send(450, 'large');
    await waitFor('30 s of the large delivery', async () => (times.length > before && Date.now() - times[before] > 30_500 ? true : null), 60_000, 200);
    const t0 = times[before];
    const in30s = times.slice(before).filter((t) => t < t0 + 30_000).length;
    const largeSplit = delivered().map((n, i) => n - smallSplit[i]);
    console.log(`large delivery: ${in30s} messages in 30 s (${in30s * 2} a minute), by process ${largeSplit.join('/')}; connections at the MX at most ${sink.connections.max} (rule: 3)`);
    assert.ok(in30s >= 270 && in30s <= 330, `${in30s} messages in 30 s: 300 ± 10 % expected (600 a minute)`);
    assert.ok(largeSplit.filter((n) => n > 0).length >= 2, `the large delivery went out through several processes (${largeSplit.join('/')})`);
    assert.ok(sink.connections.max <= 3, `at most 3 connections at once at the MX, in sum over the processes (saw ${sink.connections.max})`);
  } finally {
    for (const app of apps.reverse()) await app.stop();
    await sink.stop();
    await dns.stop();
    await database.cleanup();
  }
});
