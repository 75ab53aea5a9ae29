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
const received: { id: number; type: string; deliveryId: number | null }[][] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    received.push(JSON.parse(body).events);
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
async function events(list: [EventType, number][], applied: boolean): Promise<number[]> {
  const keys = list.map(() => `e${n++}`);
  await t.db.tx((trx) => writeEvents(trx, list.map(([type, deliveryId], i) => ({ key: keys[i], type, logId: null, deliveryId, occurredAt: Date.now(), payload: {} }))));
  const ids = (await q.selectFrom('events').select('id').where('key', 'in', keys).orderBy('id').execute()).map((r) => Number(r.id));
  if (applied) await t.db.tx((trx) => markApplied(trx, ids, Date.now() - 10_000));
  return ids;
}

const dispatcher = new WebhookDispatcher({ db: t.db, logger: silentLogger, secret: SECRET, timeoutMs: 2000, retry: { initialMs: 100, maxMs: 100, retryForMs: 60_000 }, batchSize: 2, settleMs: 0 });

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
