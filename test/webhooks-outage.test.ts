/**
 * Webhooks under stress, end to end (issue 17): a receiver whose port is closed for 30
 * seconds (connection refused) while a delivery runs gets every event after it comes back,
 * none lost, each message's events in order (deferred before delivered: the sink greylists
 * each recipient once); and a slow receiver gets the events in batches, several per signed
 * POST, never more than webhooks.batchSize per POST nor more than webhooks.concurrency POSTs
 * at once, each message's events still in order. Estafeta sends through its MTA to a sink
 * found through a real DNS server; the receiver is a real HTTP server checking signatures.
 * The retries are quick here (250 ms doubling to 2 s); the outage lasts what the issue says.
 */
import { randomBytes } from 'node:crypto';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { startSimDns, type SimDns } from '../src/sim/dns-server.ts';
import { freePort, startSink, type Sink } from './helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor, type TestEstafeta } from './helpers/estafeta.ts';
import { startSmallDelivery } from './helpers/small-delivery.ts';
import { verifySignature } from '../src/webhooks/index.ts';

const MX = '127.0.3.51';
const OUTAGE_MS = 30_000;
const BATCH = 5;
const CONCURRENCY = 3;

interface Doc {
  id: number;
  type: string;
  logId: number | null;
  deliveryId: number | null;
  recipient: string | null;
}

/** A receiver that can be taken away (its port closed) and brought back on the same port. */
class Receiver {
  secret = '';
  port = 0;
  delayMs = 0;
  /** Every document of every POST with a good signature, in arrival order. */
  events: Doc[] = [];
  /** Events per accepted POST. */
  batches: number[] = [];
  badSignatures = 0;
  inFlight = 0;
  maxInFlight = 0;
  private server: Server | null = null;

  get listening() {
    return this.server !== null;
  }

  /** Its own path: a post meant for another test's receiver on a reused port is not counted. */
  private readonly path = `/hooks-${randomBytes(6).toString('hex')}`;

  get url() {
    return `http://127.0.0.1:${this.port}${this.path}`;
  }

  async open(): Promise<void> {
    const server = createServer((req, res) => {
      if (req.url !== this.path) return res.writeHead(404).end('not this receiver');
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => setTimeout(() => {
        this.inFlight--;
        const body = Buffer.concat(chunks).toString('utf8');
        if (!verifySignature(this.secret, req.headers['estafeta-signature'] as string | undefined, body, Math.floor(Date.now() / 1000))) {
          this.badSignatures++;
          return res.writeHead(400).end('bad signature');
        }
        const docs = JSON.parse(body).events as Doc[];
        this.events.push(...docs);
        this.batches.push(docs.length);
        res.writeHead(200).end('ok');
      }, this.delayMs));
    });
    // Below the system's ephemeral range (32768 and up): while it is closed for the outage, no
    // other test's listen(0) can be given the port, which it must get back.
    this.port ||= await freePort(['127.0.0.1'], 32768);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  /** The port closed: connections refused until open() again. */
  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }

  /** The first arrival of each event, for one delivery. */
  firstArrivals(deliveryId: number): Doc[] {
    const seen = new Set<number>();
    return this.events.filter((ev) => ev.deliveryId === deliveryId && !seen.has(ev.id) && seen.add(ev.id));
  }
}

let dns: SimDns;
let sink: Sink;
let e: TestEstafeta;
const rx = new Receiver();
let endpointId: number;

before(async () => {
  const port = await freePort([MX]);
  dns = await startSimDns({
    port: 0,
    records: [
      { name: 'grey.test', type: 'MX', exchange: 'mx.grey.test', priority: 10 },
      { name: 'mx.grey.test', type: 'A', address: MX },
    ],
  });
  const greylisted = new Set<string>();
  sink = await startSink(MX, port, (rcpt) => {
    if (greylisted.has(rcpt)) return null;
    greylisted.add(rcpt);
    return { code: 451, text: '4.7.1 Greylisted, please try again later' };
  });
  // Retries from 250 ms, at most 2 s apart; the retry period is far longer than the outage.
  e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port }, webhooks: { retryInitial: '250ms', retryMax: '2s', retryFor: '10m', batchSize: BATCH, concurrency: CONCURRENCY } });
  await rx.open();
  const created = await e.api('POST', '/webhooks', { url: rx.url });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  rx.secret = created.body.secret;
  endpointId = created.body.id;
});

after(async () => {
  await e?.stop();
  await sink?.stop();
  await dns?.stop();
  await rx.close();
});

/** The ids of the delivery's events in the table, and whether the delivery is finished. */
async function written(deliveryId: number): Promise<number[]> {
  const rows = await e.app.db.kysely.selectFrom('events').select('id').where('delivery_id', '=', deliveryId).orderBy('id').execute();
  return rows.map((r) => Number(r.id));
}

function assertOrderPerMessage(docs: Doc[]): void {
  const byLog = new Map<number, Doc[]>();
  for (const d of docs) if (d.logId !== null) byLog.set(d.logId, [...(byLog.get(d.logId) ?? []), d]);
  for (const [log, mine] of byLog) {
    assert.deepEqual(mine.map((d) => d.id), mine.map((d) => d.id).sort((a, b) => a - b), `log ${log}: events in the order they were written`);
    assert.deepEqual(mine.map((d) => d.type), ['deferred', 'delivered'], `log ${log} (${mine[0].recipient}): deferred then delivered`);
  }
}

test('a receiver whose port is closed for 30 s gets every event once it is back, each message in order, the endpoint still enabled', async () => {
  await rx.close();
  const down = Date.now();
  const recipients = Array.from({ length: 12 }, (_, i) => `r${i}@grey.test`);
  const { id } = await startSmallDelivery(e, { from: 'news@shop.test', recipients });
  await waitFor('the delivery finished', async () => ['finished', 'failed'].includes((await e.api('GET', `/deliveries/${id}`)).body.state), 25_000, 250);
  const during = await waitFor('three refused attempts', async () => {
    const w = (await e.api('GET', `/webhooks/${endpointId}`)).body;
    return w.failures >= 3 ? w : null;
  }, 20_000, 200);
  assert.equal(during.attempts[0].statusCode, null);
  assert.match(during.attempts[0].error, /ECONNREFUSED/);
  assert.ok(during.backlog >= 24, `backlog ${during.backlog}`);
  assert.equal(rx.events.length, 0);
  await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - down))));
  await rx.open();
  const ids = await written(id);
  assert.equal(ids.length, 24, 'a deferred and a delivered event per recipient');
  // Retries are at most 2 s apart, plus a round or two of 5-event POSTs.
  await waitFor('every event at the receiver', async () => rx.firstArrivals(id).length >= ids.length, 20_000, 100);
  const got = rx.firstArrivals(id);
  assert.deepEqual(got.map((d) => d.id).sort((a, b) => a - b), ids, 'none lost');
  assertOrderPerMessage(got);
  assert.equal(rx.badSignatures, 0);
  const back = (await e.api('GET', `/webhooks/${endpointId}`)).body;
  assert.equal(back.enabled, true);
  assert.equal(back.failures, 0);
  assert.ok(Date.now() - down >= OUTAGE_MS);
  // Prometheus sees the endpoint enabled, its refused POSTs and the events delivered, by id (not URL).
  const metrics = await waitFor('the counts in /metrics', async () => {
    const text = await (await fetch(`${e.app.url}/metrics`)).text();
    return new RegExp(`estafeta_webhook_events_sent_total\\{endpoint="${endpointId}"\\} (2[4-9]|[3-9]\\d)`).test(text) ? text : null;
  }, 5000, 250);
  assert.match(metrics, new RegExp(`estafeta_webhook_endpoint_enabled\\{endpoint="${endpointId}"\\} 1`));
  assert.match(metrics, new RegExp(`estafeta_webhook_posts_total\\{endpoint="${endpointId}",result="failed"\\} [1-9]`));
  assert.match(metrics, new RegExp(`estafeta_webhook_backlog_events\\{endpoint="${endpointId}"\\} \\d+`));
  assert.equal(metrics.includes(rx.url), false);
});

test('a slow receiver gets the events in signed batches, at most batchSize per POST and concurrency POSTs at once, each message in order', async () => {
  if (!rx.listening) await rx.open();
  rx.delayMs = 700;
  rx.events = [];
  rx.batches = [];
  rx.maxInFlight = 0;
  const recipients = Array.from({ length: 15 }, (_, i) => `s${i}@grey.test`);
  const { id } = await startSmallDelivery(e, { from: 'news@shop.test', recipients });
  await waitFor('every event at the receiver', async () => {
    const d = (await e.api('GET', `/deliveries/${id}`)).body;
    return ['finished', 'failed'].includes(d.state) && rx.firstArrivals(id).length >= (await written(id)).length;
  }, 40_000, 200);
  const ids = await written(id);
  assert.equal(ids.length, 30);
  const got = rx.firstArrivals(id);
  assert.deepEqual(got.map((d) => d.id).sort((a, b) => a - b), ids, 'none lost');
  assertOrderPerMessage(got);
  assert.ok(Math.max(...rx.batches) > 1, `several events in one POST: ${rx.batches.join(',')}`);
  assert.ok(Math.max(...rx.batches) <= BATCH, `at most ${BATCH} per POST: ${rx.batches.join(',')}`);
  assert.ok(rx.maxInFlight > 1, 'POSTs side by side');
  assert.ok(rx.maxInFlight <= CONCURRENCY, `at most ${CONCURRENCY} at once: ${rx.maxInFlight}`);
  assert.equal(rx.badSignatures, 0);
});
