/**
 * Issue 11, finding 6 (the HTTP parts), over real HTTP: each route takes the body it needs
 * (8 KB to sign in, 1 MB by default, 200 MB where recipients are imported or content is
 * given) and a larger one answers 413 naming the limit; a JSON body 100,000 levels deep is
 * refused at once (400) on every route, without a stack overflow; live streams are capped
 * per principal and in all (429), and N viewers of one delivery cost one poll, not N
 * (read from /metrics: estafeta_live_streams and estafeta_live_polls).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startTestEstafeta, waitFor, type TestEstafeta } from '../helpers/estafeta.ts';

let e: TestEstafeta;
before(async () => {
  e = await startTestEstafeta();
});
after(async () => {
  await e.stop();
});

const delivery = { label: 'Limits', from: { address: 'news@shop.example' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}' };
const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const t = performance.now();
  const res = await fetch(`${e.app.url}/api/v1${path}`, { method: path.includes('recipients') ? 'PUT' : 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${e.adminKey}`, ...headers }, body });
  const text = await res.text();
  return { status: res.status, ms: performance.now() - t, body: JSON.parse(text) };
}

test('signing in takes 8 KB at most: a 20 MB body answers 413 at once, naming the limit', async () => {
  const big = await post('/auth/login', JSON.stringify({ name: 'admin', password: 'x', pad: 'a'.repeat(20 * 1024 * 1024) }));
  assert.equal(big.status, 413);
  assert.equal(big.body.error.code, 'BODY_TOO_LARGE');
  assert.equal(big.body.error.message, 'the request body is larger than this route accepts (8 KB)');
  const small = await post('/auth/login', JSON.stringify({ name: 'admin', password: 'x', pad: 'a'.repeat(9 * 1024) }));
  assert.equal(small.status, 413);
});

test('other routes take 1 MB by default', async () => {
  const res = await post('/quarantine', JSON.stringify({ address: 'a@x.test', text: 'a'.repeat(1024 * 1024) }));
  assert.equal(res.status, 413);
  assert.match(res.body.error.message, /\(1 MB\)$/);
});

test('importing recipients still takes large bodies (a 2 MB CSV, a 2 MB JSON delivery)', async () => {
  const d = await e.api('POST', '/deliveries', delivery);
  assert.equal(d.status, 201);
  const rows = ['email,name'];
  for (let i = 0; rows.join('\n').length < 2 * 1024 * 1024; i += 1000) for (let j = i; j < i + 1000; j++) rows.push(`user${j}@example.test,Name number ${j}`);
  const csv = await e.api('PUT', `/deliveries/${d.body.id}/recipients`, rows.join('\n'), 'text/csv');
  assert.equal(csv.status, 200, JSON.stringify(csv.body));
  assert.equal(csv.body.imported, rows.length - 1);
  const recipients = rows.slice(1, 40_000).map((r) => ({ email: r.split(',')[0], name: r.split(',')[1] }));
  assert.ok(JSON.stringify(recipients).length > 1024 * 1024);
  const created = await e.api('POST', '/deliveries', { ...delivery, recipients });
  assert.equal(created.status, 201, JSON.stringify(created.body).slice(0, 300));
});

test('a JSON body 100,000 levels deep is refused quickly on every route, and the process goes on', async () => {
  const deepLogin = await post('/auth/login', `{"a":${nested(3000)},"name":"admin","password":"x"}`);
  assert.equal(deepLogin.status, 400);
  assert.equal(deepLogin.body.error.message, 'the JSON body nests deeper than 64 levels of objects and arrays');
  assert.equal((await post('/auth/login', `{"a":${nested(100_000)}}`)).status, 413);
  const deepDelivery = await post('/deliveries', JSON.stringify({ ...delivery, recipients: [{ email: 'a@x.test' }] }).replace('"a@x.test"', `"a@x.test","x":${nested(100_000)}`));
  assert.equal(deepDelivery.status, 400, JSON.stringify(deepDelivery.body));
  assert.match(deepDelivery.body.error.message, /nests deeper than 64 levels/);
  assert.ok(deepDelivery.ms < 1000, `${deepDelivery.ms} ms`);
  const d = await e.api('POST', '/deliveries', delivery);
  const deepImport = await post(`/deliveries/${d.body.id}/recipients`, `[{"email":"a@x.test","x":${nested(100_000)}}]`);
  assert.equal(deepImport.status, 400);
  const deepObject = await post('/quarantine', `{"address":"a@x.test","x":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`);
  assert.equal(deepObject.status, 400);
  assert.equal((await e.api('GET', '/health')).status, 200);
});

interface Opened {
  status: number;
  retryAfter?: string;
  /** What the stream sent so far (for a 429, its whole body). */
  text: string;
  req: http.ClientRequest;
}

/** Opens a live stream; resolves once the status is known (a 429's body read in full). */
function openStream(path: string, key: string): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${e.app.url}/api/v1${path}`, { agent: false, headers: { authorization: `Bearer ${key}` } }, (res) => {
      const opened: Opened = { status: res.statusCode!, retryAfter: res.headers['retry-after'], text: '', req };
      res.setEncoding('utf8').on('data', (c) => (opened.text += c));
      if (res.statusCode === 200) resolve(opened);
      else res.on('end', () => resolve(opened));
    });
    req.on('error', reject);
  });
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${e.app.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

const viewerKey = async (name: string) => (await e.api('POST', '/api-keys', { name, role: 'viewer' })).body.key as string;
const closeAll = async (streams: Opened[]) => {
  for (const s of streams) s.req.destroy();
  await waitFor('the streams to close', async () => (await metric('estafeta_live_streams')) === 0, 10_000, 50);
};

test('one principal holds at most 20 live streams: the next answers 429 in words, until one closes', async () => {
  const d = await e.api('POST', '/deliveries', delivery);
  const key = await viewerKey('streamer');
  const streams = await Promise.all(Array.from({ length: 20 }, () => openStream(`/deliveries/${d.body.id}/stream`, key)));
  assert.deepEqual(new Set(streams.map((s) => s.status)), new Set([200]));
  const refused = await openStream(`/stream?deliveries=${d.body.id}`, key);
  assert.equal(refused.status, 429);
  assert.equal(refused.retryAfter, '10');
  assert.equal(JSON.parse(refused.text).error.message, 'too many live streams open for you (20); close some dashboard tabs and try again');
  const other = await openStream(`/deliveries/${d.body.id}/stream`, await viewerKey('someone-else'));
  assert.equal(other.status, 200, 'another principal is not affected');
  streams[0].req.destroy();
  const again = await waitFor('a freed slot', async () => {
    const s = await openStream(`/deliveries/${d.body.id}/stream`, key);
    if (s.status !== 200) return null;
    return s;
  }, 5000, 50);
  await closeAll([...streams, again, refused, other]);
});

test('viewers of the same delivery or the same list share one poll', async () => {
  const a = await e.api('POST', '/deliveries', delivery);
  const b = await e.api('POST', '/deliveries', delivery);
  const keys = [await viewerKey('watcher-1'), await viewerKey('watcher-2')];
  const streams = await Promise.all([
    ...Array.from({ length: 20 }, (_, i) => openStream(`/deliveries/${a.body.id}/stream`, keys[i % 2])),
    ...Array.from({ length: 10 }, (_, i) => openStream(`/stream?deliveries=${i % 2 ? `${a.body.id},${b.body.id}` : `${b.body.id},${a.body.id}`}`, keys[i % 2])),
  ]);
  assert.deepEqual(new Set(streams.map((s) => s.status)), new Set([200]));
  assert.equal(await metric('estafeta_live_streams'), 30);
  assert.equal(await metric('estafeta_live_polls'), 2, 'one poll for the delivery, one for the list, whatever the number of viewers');
  // Every viewer still gets its own first event, and a change reaches all of them.
  await waitFor('every first event', async () => streams.every((s) => /event: (delivery|deliveries)/.test(s.text)), 5000, 50);
  assert.equal((await e.api('PATCH', `/deliveries/${a.body.id}`, { label: 'Renamed for the viewers' })).status, 200);
  await waitFor('the change on every stream', async () => streams.every((s) => s.text.includes('Renamed for the viewers')), 5000, 50);
  await closeAll(streams);
  assert.equal(await metric('estafeta_live_polls'), 0, 'a poll stops with its last viewer');
});

test('the server holds at most 500 live streams in all', async () => {
  const d = await e.api('POST', '/deliveries', delivery);
  const streams: Opened[] = [];
  for (let k = 0; k < 25; k++) {
    const key = await viewerKey(`crowd-${k}`);
    streams.push(...(await Promise.all(Array.from({ length: 20 }, () => openStream(`/deliveries/${d.body.id}/stream`, key)))));
  }
  assert.equal(streams.filter((s) => s.status === 200).length, 500);
  const refused = await openStream(`/deliveries/${d.body.id}/stream`, await viewerKey('crowd-late'));
  assert.equal(refused.status, 429);
  assert.equal(JSON.parse(refused.text).error.message, 'too many live streams open on this server (500); try again later');
  assert.equal((await e.as(null)('GET', '/health')).status, 200);
  await closeAll(streams);
});
