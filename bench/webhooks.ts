/**
 * `npx tsx bench/webhooks.ts [--events N] [--latency MS] [--fail P] [--json]`
 *
 * The webhook dispatcher against a slow, flaky receiver (issue 17: 10,000 events to a local
 * receiver that answers in 200 ms and fails 10 % of the time: every event arrives at least
 * once, none lost). Writes N applied events to a fresh database (SQLite, or PostgreSQL with
 * DATABASE_URL), registers one endpoint on a node:http receiver that checks every signature,
 * and runs the dispatcher with the default settings (100 events per POST at most, retries from
 * 1 s) until every event has arrived. Prints the time, events a second, POSTs, failed POSTs,
 * the mean batch, duplicates (re-sent after a failure: allowed), events lost (must be 0) and
 * whether they arrived in order. It measures the dispatcher alone, not the MTA beside it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestDb } from '../src/db/testing.ts';
import { markApplied, writeEvents, type NewEvent } from '../src/events/index.ts';
import { silentLogger } from '../src/lib/logger.ts';
import { createEndpoint, DEFAULT_RETRY, verifySignature, WebhookDispatcher } from '../src/webhooks/index.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = option('events', 10_000);
const LATENCY = option('latency', 200);
const FAIL = option('fail', 0.1);

const t = await createTestDb();
const q = t.db.kysely;
const SECRET = 'bench-instance-secret-0123456789';
const { endpoint, secret } = await createEndpoint(q, SECRET, { url: 'http://127.0.0.1:1/', createdBy: 'bench' });

const seen = new Map<number, number>();
const order: number[] = [];
let posts = 0;
let failed = 0;
let badSignatures = 0;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    setTimeout(() => {
      posts++;
      const body = Buffer.concat(chunks).toString('utf8');
      if (!verifySignature(secret, req.headers['estafeta-signature'] as string, body, Math.floor(Date.now() / 1000))) {
        badSignatures++;
        return res.writeHead(400).end();
      }
      if (Math.random() < FAIL) {
        failed++;
        return res.writeHead(500).end('flaky');
      }
      for (const ev of JSON.parse(body).events as { id: number }[]) {
        seen.set(ev.id, (seen.get(ev.id) ?? 0) + 1);
        order.push(ev.id);
      }
      res.writeHead(200).end();
    }, LATENCY);
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as AddressInfo).port;
await q.updateTable('webhook_endpoints').set({ url: `http://127.0.0.1:${port}/` }).where('id', '=', endpoint.id).execute();

// The events, as the MTA would have written them and the feedback service applied them.
const now = Date.now();
const events: NewEvent[] = Array.from({ length: N }, (_, i) => ({ key: `bench.${i}`, type: 'delivered', logId: null, deliveryId: null, occurredAt: now + i, payload: { reply: '250 2.0.0 OK', attempt: 1, mx: 'mx.bench.test', address: `r${i}@bench.test` } }));
await t.db.tx(async (trx) => {
  await writeEvents(trx, events);
  const ids = (await trx.selectFrom('events').select('id').execute()).map((r) => Number(r.id));
  await markApplied(trx, ids);
});

const dispatcher = new WebhookDispatcher({ db: t.db, logger: silentLogger, secret: SECRET, timeoutMs: 10_000, retry: DEFAULT_RETRY, batchSize: 100, pollMs: 200 });
const started = performance.now();
dispatcher.start();
while (seen.size < N && performance.now() - started < 600_000) await new Promise((r) => setTimeout(r, 50));
const seconds = (performance.now() - started) / 1000;
await dispatcher.stop();
server.close();
await t.cleanup();

const inOrder = order.every((id, i) => i === 0 || id > order[i - 1] || seen.get(id)! > 1);
const figures = {
  database: t.db.dialect,
  events: N,
  receiverLatencyMs: LATENCY,
  receiverFailureRate: FAIL,
  seconds: Number(seconds.toFixed(1)),
  eventsPerSecond: Math.round(N / seconds),
  posts,
  failedPosts: failed,
  meanBatch: Number((order.length / Math.max(1, posts - failed)).toFixed(1)),
  duplicates: order.length - seen.size,
  lost: N - seen.size,
  badSignatures,
  inOrder,
};
console.log(args.includes('--json') ? JSON.stringify(figures) : JSON.stringify(figures, null, 2));
