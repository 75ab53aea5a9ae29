import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestDb } from '../db/testing.ts';
import { markApplied, writeEvents, type EventType } from '../events/index.ts';
import { silentLogger } from '../lib/logger.ts';
import { WebhookDispatcher } from './dispatcher.ts';
import { createEndpoint, endpointTarget, getEndpoint } from './store.ts';

const t = await createTestDb();
const q = t.db.kysely;
const SECRET = 'instance-secret-0123456789';
const received: { id: number; type: string; deliveryId: number | null; logId: number | null }[][] = [];
/** The receiver answers 500 to a POST this says yes to. */
let refuse: (events: { id: number; logId: number | null }[]) => boolean = () => false;
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const events = JSON.parse(body).events;
    if (refuse(events)) return res.writeHead(500).end();
    received.push(events);
    res.writeHead(200).end();
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
after(async () => {
  server.close();
  await t.cleanup();
});

let n = 0;
async function events(list: [EventType, number][], applied: boolean, logIds?: number[]): Promise<number[]> {
  const keys = list.map(() => `e${n++}`);
  await t.db.tx((trx) => writeEvents(trx, list.map(([type, deliveryId], i) => ({ key: keys[i], type, logId: logIds?.[i] ?? null, deliveryId, occurredAt: Date.now(), payload: {} }))));
  const ids = (await q.selectFrom('events').select('id').where('key', 'in', keys).orderBy('id').execute()).map((r) => Number(r.id));
  if (applied) await t.db.tx((trx) => markApplied(trx, ids, Date.now() - 10_000));
  return ids;
}

const dispatcher = new WebhookDispatcher({ db: t.db, logger: silentLogger, secret: SECRET, timeoutMs: 2000, retry: { initialMs: 100, maxMs: 100, retryForMs: 60_000 }, batchSize: 2, concurrency: 1, settleMs: 0 });

test('filters by type and delivery, batches up to batchSize, and never passes an event not applied yet', async () => {
  const { endpoint } = await createEndpoint(q, SECRET, { url, eventTypes: ['delivered', 'bounced'], deliveryId: 7, createdBy: 'test' });
  const a = await events([['delivered', 7], ['opened', 7], ['delivered', 8], ['bounced', 7], ['delivered', 7]], true);
  const pending = await events([['delivered', 7]], false);
  const b = await events([['delivered', 7]], true);
  const target = async () => (await endpointTarget(q, SECRET, endpoint.id))!;
  // deliverOnce is what the loop runs; called directly here, the lease is this process's.
  await q.updateTable('webhook_endpoints').set({ lease_owner: (dispatcher as unknown as { owner: string }).owner }).where('id', '=', endpoint.id).execute();
  assert.equal(await dispatcher.deliverOnce(await target()), 'more');
  assert.equal(await dispatcher.deliverOnce(await target()), 'more');
  assert.equal(await dispatcher.deliverOnce(await target()), 'idle', 'stops before the event not applied');
  assert.deepEqual(received.map((batch) => batch.map((e) => e.id)), [[a[0], a[3]], [a[4]]]);
  assert.ok(received.flat().every((e) => e.deliveryId === 7 && (e.type === 'delivered' || e.type === 'bounced')));
  assert.equal((await getEndpoint(q, endpoint.id)).cursor, a[4]);
  await t.db.tx((trx) => markApplied(trx, pending, Date.now() - 10_000));
  assert.equal(await dispatcher.deliverOnce(await target()), 'more');
  assert.deepEqual(received.at(-1)!.map((e) => e.id), [pending[0], b[0]]);
});

test('POSTs side by side, one per share of the messages: a failed one alone is sent again, the others are not', async () => {
  const lanes = new WebhookDispatcher({ db: t.db, logger: silentLogger, secret: SECRET, timeoutMs: 2000, retry: { initialMs: 100, maxMs: 100, retryForMs: 60_000 }, batchSize: 3, concurrency: 2, settleMs: 0 });
  const { endpoint } = await createEndpoint(q, SECRET, { url, createdBy: 'test' });
  await q.updateTable('webhook_endpoints').set({ lease_owner: (lanes as unknown as { owner: string }).owner }).where('id', '=', endpoint.id).execute();
  // Six messages (log ids 1..6, the logs need not exist), two events each: lane 0 has the even logs, lane 1 the odd.
  const logIds = [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6];
  const ids = await events(logIds.map(() => ['delivered', 9] as [EventType, number]), true, logIds);
  received.length = 0;
  refuse = (evs) => evs.some((e) => e.logId === 1);
  const target = async () => (await endpointTarget(q, SECRET, endpoint.id))!;
  assert.equal(await lanes.deliverOnce(await target()), 'failed');
  // Lane 0 (logs 2, 4, 6) went through; lane 1 (logs 1, 3, 5) was refused.
  assert.deepEqual(received.map((b) => b.map((e) => e.logId)), [[2, 4, 6]]);
  const failing = await getEndpoint(q, endpoint.id);
  assert.equal(failing.failures, 1);
  assert.equal(failing.cursor, ids[0] - 1, 'the cursor stops before the first refused event');
  refuse = () => false;
  await q.updateTable('webhook_endpoints').set({ next_attempt_at: 0 }).where('id', '=', endpoint.id).execute();
  while ((await lanes.deliverOnce(await target())) === 'more');
  const got = received.flat();
  assert.deepEqual(got.map((e) => e.id).sort((a, b) => a - b), ids, 'every event once: the delivered lane was not sent again');
  for (const log of [1, 2, 3, 4, 5, 6]) {
    const mine = got.filter((e) => e.logId === log).map((e) => e.id);
    assert.deepEqual(mine, [...mine].sort((a, b) => a - b), `log ${log}'s events in order`);
  }
  const done = await getEndpoint(q, endpoint.id);
  assert.equal(done.cursor, ids.at(-1));
  assert.equal(done.failures, 0);
  assert.deepEqual(lanes.counts.get(endpoint.id), { posts: received.length, failedPosts: 1, events: 12 });
});
