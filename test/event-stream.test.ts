/**
 * The event stream end to end against the nats-server running on 127.0.0.1:4222 (skipped,
 * saying so, when it does not answer): Estafeta sends small deliveries through its MTA to an
 * smtp-server sink found through a real DNS server, publishes the applied events to a stream
 * of its own making (a unique name per run, deleted after), and a JetStream consumer sees
 * every event exactly once per event id, on the subject of its type, with the webhooks'
 * document. Across a clean restart on the same database nothing is republished; across a
 * "crash" (the cursor put back, as if the process died between the acks and the cursor's
 * move) the events are published again and JetStream's dedupe drops them. Last, with NATS
 * down at start (a private nats-server not yet running) Estafeta starts anyway, delivers,
 * and publishes once NATS is up.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { configSchema, type ConfigInput } from '../src/config/index.ts';
import { startEstafeta, type App } from '../src/app/start.ts';
import { createApiKey } from '../src/auth/index.ts';
import { createTestDatabaseUrl } from '../src/db/testing.ts';
import { getSetting, openDatabase, setSetting, type Q } from '../src/db/index.ts';
import { silentLogger } from '../src/lib/logger.ts';
import { randomToken } from '../src/lib/ids.ts';
import { startSimDns, type SimDns } from '../src/sim/dns-server.ts';
import { fastRetryPolicyDir, startTestEstafeta, TEST_ADMIN_PASSWORD, waitFor, type TestEstafeta } from './helpers/estafeta.ts';
import { freePort, startSink, type Sink } from './helpers/smtp-sink.ts';
import { startSmallDelivery } from './helpers/small-delivery.ts';

const NATS = '127.0.0.1:4222';
const MX = '127.0.8.11';

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port, timeout: 1000 }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

const natsUp = await answers('127.0.0.1', 4222);
const skip = natsUp ? false : `nats-server does not answer on ${NATS}: start it with \`nats-server -js -a 127.0.0.1 -p 4222\``;
/** The last test starts a nats-server of its own, later than Estafeta. */
const skipLate = skip || (spawnSync('nats-server', ['--version']).error ? 'no nats-server binary on the PATH to start a private one' : false);

interface Seen {
  subject: string;
  msgId: string | undefined;
  doc: { id: number; type: string; deliveryId: number; recipient: string; logId: number; messageId: string | null; version: number };
}

/** An ordered consumer reading the whole stream from its start, into `seen`. */
async function consumeAll(nc: NatsConnection, stream: string, seen: Seen[]): Promise<() => Promise<void>> {
  const jsm = await jetstreamManager(nc);
  await waitFor(`stream ${stream} created by Estafeta`, async () => jsm.streams.info(stream).then(() => true, () => false), 30_000);
  const consumer = await jetstream(nc).consumers.get(stream);
  const messages = await consumer.consume();
  const done = (async () => {
    for await (const m of messages) seen.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), doc: m.json() });
  })();
  return async () => {
    await messages.close();
    await done;
  };
}

let dns: SimDns;
let sink: Sink;
let port: number;

before(async () => {
  if (skip) return;
  port = await freePort([MX]);
  dns = await startSimDns({ port: 0, records: [{ name: 'stream.test', type: 'MX', exchange: 'mx.stream.test', priority: 10 }, { name: 'mx.stream.test', type: 'A', address: MX }] });
  sink = await startSink(MX, port);
});

after(async () => {
  await sink?.stop();
  await dns?.stop();
});

/** A TestEstafeta over an app started by the test itself (startSmallDelivery only calls `api`). */
async function client(app: App): Promise<TestEstafeta> {
  const key = (await createApiKey(app.db.kysely, { name: `stream-${randomToken(4)}`, role: 'admin', createdBy: 'test' })).key;
  const as = (k: string | null) => async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const res = await fetch(`${app.url}/api/v1${path}`, { method, headers: { ...(k ? { authorization: `Bearer ${k}` } : {}), ...(body === undefined ? {} : { 'content-type': contentType }) }, body: body === undefined ? undefined : contentType === 'application/json' ? JSON.stringify(body) : String(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return { app, api: as(key), as, adminKey: key, stop: () => app.stop() } as TestEstafeta;
}

test('every applied event reaches a JetStream consumer once per event id, across a restart and a crash', { skip, timeout: 120_000 }, async () => {
  const run = randomToken(6).toLowerCase().replace(/[^a-z0-9]/g, 'x');
  const stream = `ESTAFETA_TEST_${run}`;
  const prefix = `estafeta.test${run}`;
  const database = await createTestDatabaseUrl();
  process.env.ESTAFETA_ADMIN_PASSWORD ??= TEST_ADMIN_PASSWORD;
  const config = configSchema.parse({
    database: { url: database.url },
    log: { level: 'silent' },
    policy: { dir: fastRetryPolicyDir() },
    dns: { servers: [`127.0.0.1:${dns.port}`] },
    mta: { port, heloName: 'estafeta.test' },
    http: { host: '127.0.0.1', port: 0 },
    bounces: { listen: { host: '127.0.0.1', port: 0 } },
    submission: { listen: { host: '127.0.0.1', port: 0 }, tls: { dir: mkdtempSync(join(tmpdir(), 'estafeta-tls-')) } },
    eventStream: { nats: { servers: NATS, stream, subjectPrefix: prefix } },
  } satisfies ConfigInput);
  const nc = await connect({ servers: NATS });
  const seen: Seen[] = [];
  let stopConsumer: (() => Promise<void>) | null = null;
  let app: App | null = null;
  const eventsOf = async (q: Q, ids: number[]) =>
    (await q.selectFrom('events').select(['id', 'type', 'delivery_id', 'applied_at']).where('delivery_id', 'in', ids).orderBy('id').execute()).map((r) => ({ id: Number(r.id), type: r.type, applied: r.applied_at !== null }));
  try {
    app = await startEstafeta(config, { logger: silentLogger });
    let e = await client(app);
    const first = await startSmallDelivery(e, { from: 'news@shop.test', recipients: ['a@stream.test', 'b@stream.test', 'c@stream.test'] });
    stopConsumer = await consumeAll(nc, stream, seen);
    await waitFor('3 delivered events on the stream', async () => seen.filter((s) => s.doc.type === 'delivered' && s.doc.deliveryId === first.id).length === 3, 30_000);
    const db1 = await eventsOf(app.db.kysely, [first.id]);
    await waitFor('every event of the first delivery on the stream', async () => db1.every((ev) => seen.some((s) => s.doc.id === ev.id)), 10_000);
    for (const s of seen) {
      assert.equal(s.subject, `${prefix}.${s.doc.type}`);
      assert.equal(s.msgId, String(s.doc.id));
      assert.equal(s.doc.version, 1);
    }
    const delivered = seen.filter((s) => s.doc.type === 'delivered');
    assert.deepEqual(delivered.map((s) => s.doc.recipient).sort(), ['a@stream.test', 'b@stream.test', 'c@stream.test']);
    for (const s of delivered) {
      assert.ok(s.doc.logId > 0, 'a delivered event names its log');
      assert.match(s.doc.messageId ?? '', /^<.+@shop\.test>$/);
    }
    // In the order the events were written.
    assert.deepEqual(seen.map((s) => s.doc.id), [...seen.map((s) => s.doc.id)].sort((a, b) => a - b));

    // A clean restart on the same database: nothing is published again.
    const jsm = await jetstreamManager(nc);
    const before1 = (await jsm.streams.info(stream)).state.messages;
    await app.stop();
    app = await startEstafeta(config, { logger: silentLogger });
    e = await client(app);
    const second = await startSmallDelivery(e, { from: 'news@shop.test', recipients: ['d@stream.test', 'e@stream.test'] });
    await waitFor('the second delivery on the stream', async () => seen.filter((s) => s.doc.type === 'delivered' && s.doc.deliveryId === second.id).length === 2, 30_000);
    const db2 = await eventsOf(app.db.kysely, [second.id]);
    assert.equal((await jsm.streams.info(stream)).state.messages, before1 + db2.length, 'a clean restart republished nothing');
    assert.equal(app.eventStream!.stats.duplicates, 0);
    assert.equal(app.eventStream!.stats.published, db2.length);

    // A crash between the acks and the cursor's move: the cursor is behind what NATS has.
    await app.stop();
    app = null;
    const raw = await openDatabase(database.url);
    const acked = Number(await getSetting(raw.kysely, 'eventstream.cursor'));
    const everything = await eventsOf(raw.kysely, [first.id, second.id]);
    assert.equal(acked, everything.at(-1)!.id, 'the cursor is at the last event');
    await setSetting(raw.kysely, 'eventstream.cursor', String(everything[0].id - 1));
    await raw.close();
    app = await startEstafeta(config, { logger: silentLogger });
    const resumed = app;
    await waitFor('the cursor back where it was', async () => Number(await getSetting(resumed.db.kysely, 'eventstream.cursor')) >= acked, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await jsm.streams.info(stream)).state.messages, everything.length, 'JetStream dropped the republished events as duplicates');
    assert.equal(resumed.eventStream!.stats.duplicates, everything.length, 'every event was published again');
    assert.equal(resumed.eventStream!.stats.published, 0);

    // The consumer saw each event id exactly once, and every applied event.
    const ids = seen.map((s) => s.doc.id);
    assert.equal(new Set(ids).size, ids.length, 'an event id seen twice');
    assert.deepEqual([...ids].sort((a, b) => a - b), everything.filter((ev) => ev.applied).map((ev) => ev.id));
  } finally {
    await stopConsumer?.();
    await app?.stop();
    await jetstreamManager(nc).then((jsm) => jsm.streams.delete(stream)).catch(() => {});
    await nc.close();
    await database.cleanup();
  }
});

test('NATS unreachable at start, then down for a while: Estafeta starts, delivers, publishes once NATS is up, and stops promptly', { skip: skipLate, timeout: 90_000 }, async () => {
  const natsPort = await freePort(['127.0.0.1']);
  const store = mkdtempSync(join(tmpdir(), 'estafeta-nats-'));
  const stream = 'ESTAFETA_LATE';
  let server: ChildProcess | null = null;
  const startNats = async () => {
    server = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', store], { stdio: 'ignore' });
    await waitFor('the private nats-server', async () => answers('127.0.0.1', natsPort), 10_000, 100);
  };
  const stopNats = async () => {
    const s = server as ChildProcess | null;
    if (!s || s.exitCode !== null) return;
    await new Promise((r) => {
      s.once('exit', r);
      s.kill();
    });
  };
  const e = await startTestEstafeta({
    dns: { servers: [`127.0.0.1:${dns.port}`] },
    mta: { port },
    eventStream: { nats: { servers: [`127.0.0.1:${natsPort}`], stream, timeout: '500ms', retryInitial: '200ms', retryMax: '1s' } },
  });
  const deliveredApplied = (id: number, n: number) => waitFor(`${n} delivered and applied`, async () => {
    const rows = await e.app.db.kysely.selectFrom('events').select('applied_at').where('delivery_id', '=', id).where('type', '=', 'delivered').execute();
    return rows.length === n && rows.every((r) => r.applied_at !== null);
  }, 30_000);
  try {
    const first = await startSmallDelivery(e, { from: 'news@shop.test', recipients: ['late1@stream.test', 'late2@stream.test'] });
    await deliveredApplied(first.id, 2);
    // On PostgreSQL an applied event waits 2 s before it is published (settleMs): then it fails.
    await waitFor('a failed attempt to publish', async () => e.app.eventStream!.stats.failures >= 1, 10_000, 50);
    assert.equal(e.app.eventStream!.stats.published, 0);
    await startNats();
    await waitFor('the first delivery published', async () => e.app.eventStream!.stats.published >= 2, 20_000);

    // NATS goes away while Estafeta runs; the next delivery waits for it, nothing else does.
    await stopNats();
    const second = await startSmallDelivery(e, { from: 'news@shop.test', recipients: ['late3@stream.test'] });
    await deliveredApplied(second.id, 1);
    const failed = e.app.eventStream!.stats.failures;
    await waitFor('a failed attempt to publish', async () => e.app.eventStream!.stats.failures > failed, 10_000, 50);
    await startNats(); // the same store: the stream and its duplicate window are still there

    const nc = await connect({ servers: `127.0.0.1:${natsPort}` });
    try {
      const seen: Seen[] = [];
      const stop = await consumeAll(nc, stream, seen);
      await waitFor('every delivered event on the stream', async () => seen.filter((s) => s.doc.type === 'delivered').length === 3, 20_000);
      await new Promise((r) => setTimeout(r, 500));
      await stop();
      const ids = seen.map((s) => s.doc.id);
      assert.equal(new Set(ids).size, ids.length);
      const all = (await e.app.db.kysely.selectFrom('events').select('id').where('applied_at', 'is not', null).orderBy('id').execute()).map((r) => Number(r.id));
      assert.deepEqual(ids, all);
    } finally {
      await nc.close();
    }
    // With NATS down, stopping does not wait for it.
    await stopNats();
    const stopping = Date.now();
    await e.app.eventStream!.stop();
    assert.ok(Date.now() - stopping < 3000, `the publisher took ${Date.now() - stopping} ms to stop`);
  } finally {
    await e.stop();
    await stopNats();
    rmSync(store, { recursive: true, force: true });
  }
});
