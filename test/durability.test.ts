/**
 * Nothing is lost on a crash, and nothing is sent twice by two workers: Estafeta runs as a
 * separate process, is killed with kill -9 while its MTA holds messages it accepted, and
 * delivers them all after a restart; on PostgreSQL, two MTA processes share one spool and
 * every recipient receives exactly one message, and each counts the other (MX rules' limits
 * are split between the MTA processes alive).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
