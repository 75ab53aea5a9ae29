/**
 * `npx tsx bench/event-stream.ts [--events N] [--batch B] [--json]`
 *
 * The event stream publisher against the nats-server on 127.0.0.1:4222 (NATS_URL to change
 * it). Writes N applied events to a fresh database (SQLite, or PostgreSQL with DATABASE_URL),
 * puts the publisher's cursor before them, and runs it with B events per batch (100 by default)
 * into a stream made for the run (deleted after) until its cursor reaches the last event.
 * Prints the time, events a second, and what the stream holds (must be N: none lost, none
 * twice). Then publishes the same events again from cursor 0 and prints how many JetStream
 * took as duplicates (must be N), the cost of a crash that lost the cursor within the window.
 */
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createTestDb } from '../src/db/testing.ts';
import { setSetting } from '../src/db/index.ts';
import { markApplied, writeEvents, type NewEvent } from '../src/events/index.ts';
import { EventStreamPublisher } from '../src/eventstream/index.ts';
import { silentLogger } from '../src/lib/logger.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const N = opt('--events', 10_000);
const BATCH = opt('--batch', 100);
const NATS = process.env.NATS_URL ?? '127.0.0.1:4222';
const stream = `ESTAFETA_BENCH_${process.pid}`;

const t = await createTestDb();
const now = Date.now();
const events: NewEvent[] = Array.from({ length: N }, (_, i) => ({ key: `bench.${i}`, type: i % 10 === 0 ? 'opened' : 'delivered', logId: null, deliveryId: null, occurredAt: now + i, payload: { reply: '250 2.0.0 OK', attempt: 1, mx: 'mx.bench.test', address: `r${i}@bench.test` } }));
await t.db.tx(async (trx) => {
  await writeEvents(trx, events);
  await markApplied(trx, (await trx.selectFrom('events').select('id').execute()).map((r) => Number(r.id)));
});
const last = Number((await t.db.kysely.selectFrom('events').select((eb) => eb.fn.max<number>('id').as('m')).executeTakeFirstOrThrow()).m);

async function run(): Promise<{ seconds: number; published: number; duplicates: number }> {
  await setSetting(t.db.kysely, 'eventstream.cursor', '0');
  const p = new EventStreamPublisher({ db: t.db, logger: silentLogger, secret: 'bench-secret', servers: [NATS], stream, subjectPrefix: `estafeta.bench${process.pid}`, duplicateWindowMs: 120_000, timeoutMs: 5000, retryInitialMs: 1000, retryMaxMs: 60_000, batchSize: BATCH, settleMs: 0 });
  const started = performance.now();
  p.start();
  while (p.stats.cursor !== last && performance.now() - started < 600_000) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - started) / 1000;
  await p.stop();
  return { seconds, published: p.stats.published, duplicates: p.stats.duplicates };
}

const first = await run();
const again = await run();
const nc = await connect({ servers: NATS });
const jsm = await jetstreamManager(nc);
const held = (await jsm.streams.info(stream)).state.messages;
await jsm.streams.delete(stream);
await nc.close();
await t.cleanup();

const figures = {
  database: t.db.dialect,
  events: N,
  batch: BATCH,
  seconds: Number(first.seconds.toFixed(2)),
  eventsPerSecond: Math.round(N / first.seconds),
  published: first.published,
  streamHolds: held,
  republish: { seconds: Number(again.seconds.toFixed(2)), eventsPerSecond: Math.round(N / again.seconds), duplicatesDropped: again.duplicates, published: again.published },
};
console.log(args.includes('--json') ? JSON.stringify(figures) : JSON.stringify(figures, null, 2));
if (held !== N || again.duplicates !== N) process.exitCode = 1;
