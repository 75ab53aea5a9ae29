/**
 * The simulated recipients against a real HTTP server (node:http) standing in for Estafeta's
 * tracking routes, recording every request: rates as profiled over 500 messages under a
 * fixed seed, privacy-proxy opens with their User-Agent and forwarded address, scanner
 * clicks as a burst, people's delays under the time scale, redirects never followed, and
 * the bounds (cap, hosts, failures). Then the same through the simulator's SMTP door.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Engagement, addressIn, htmlTargets, messageTargets, type EngagementOptions } from './engagement.ts';
import { startSimulator } from './index.ts';
import { parseSimProfiles } from './profiles.ts';
import { TestSmtpClient } from './test-client.ts';

interface Hit {
  method: string;
  path: string;
  userAgent: string;
  forwardedFor: string;
  contentType: string;
  body: string;
  at: number;
}

/** Answers like Estafeta's routes: a GIF for /t/o/, a 302 for /t/c/, 200 for unsubscribe. */
async function startTracker() {
  const hits: Hit[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      hits.push({ method: req.method ?? '', path, userAgent: String(req.headers['user-agent'] ?? ''), forwardedFor: String(req.headers['x-forwarded-for'] ?? ''), contentType: String(req.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString(), at: Date.now() });
      if (path.startsWith('/fail/')) res.writeHead(500).end();
      else if (path.startsWith('/t/c/')) res.writeHead(302, { location: `${base}/real-site${path}` }).end();
      else if (path.startsWith('/t/o/')) res.writeHead(200, { 'content-type': 'image/gif' }).end(Buffer.from('R0lGODlhAQABAAAAACw=', 'base64'));
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, hits, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A message shaped like Estafeta's: a pixel, two tracked links, a body unsubscribe link. */
function message(base: string, n: number, extraLink = ''): Buffer {
  const html = `<html><body><p>Hello ${n}</p><a href="${base}/t/c/${n}-a">See the selection</a> <a href='${base}/t/c/${n}-b?x=1&amp;y=2'><b>Shoes</b></a>
${extraLink}<p><a href="${base}/unsubscribe/${n}">Unsubscribe</a></p><img src="${base}/t/o/${n}" width="1" height="1" alt=""></body></html>`;
  return Buffer.from(
    [
      'From: Shop <news@shop.example>', `To: r${n}@x.sim`, `Subject: Offer ${n}`, `Message-ID: <m${n}@shop.example>`,
      `List-Unsubscribe: <mailto:unsub-${n}@bounces.example>, <${base}/unsubscribe/${n}>`, 'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
      'MIME-Version: 1.0', 'Content-Type: multipart/alternative; boundary="b1"', '', '--b1', 'Content-Type: text/plain; charset=utf-8', '', `Hello ${n}`,
      '--b1', 'Content-Type: text/html; charset=utf-8', '', html, '--b1--', '',
    ].join('\r\n'),
  );
}

function profile(engagement: unknown) {
  return parseSimProfiles({ providers: [{ name: 'x', domains: ['x.sim'], mxHosts: [{ name: 'mx.x.sim' }], engagement }] }).providers[0].engagement;
}

const RATES = profile({
  openPercent: 30, clickPercent: 40, unsubscribePercent: 10,
  openDelay: { medianSeconds: 300, maxSeconds: 1000 }, clickDelay: { medianSeconds: 20, maxSeconds: 100 }, unsubscribeDelay: { medianSeconds: 20, maxSeconds: 100 },
  machineOpen: { percent: 25 }, scanner: { percent: 20 },
});
const SCALE = 0.001; // 300 s -> 0.3 s

const isScanner = (h: Hit) => /URLAnalyzer/.test(h.userAgent);
const isProxy = (h: Hit) => h.userAgent === 'Mozilla/5.0';
const isPerson = (h: Hit) => !isScanner(h) && !isProxy(h);
const msgOf = (h: Hit) => h.path.split('?')[0].split('/').pop()!.split('-')[0];

async function run(tracker: Awaited<ReturnType<typeof startTracker>>, n: number, o: EngagementOptions) {
  const e = new Engagement({ timeScale: SCALE, ...o });
  const t0 = Date.now();
  for (let i = 0; i < n; i++) e.accepted(RATES, [`r${i}@x.sim`], message(tracker.base, i), t0);
  await e.settle();
  return { e, t0 };
}

test('over 500 messages the recipients open, click and unsubscribe at the profiled rates, the same ones under the same seed', { timeout: 60_000 }, async () => {
  const tracker = await startTracker();
  try {
    const { e, t0 } = await run(tracker, 500, { seed: 'seed-1' });
    const hits = tracker.hits.splice(0);
    const stats = e.stats();
    assert.equal(stats.failed, 0, JSON.stringify(stats));
    assert.equal(stats.done, hits.length);
    assert.equal(stats.pending, 0);

    const opened = new Set(hits.filter((h) => isPerson(h) && h.path.startsWith('/t/o/')).map(msgOf));
    const proxied = new Set(hits.filter((h) => isProxy(h)).map(msgOf));
    const scanned = new Set(hits.filter((h) => isScanner(h)).map(msgOf));
    const clicked = new Set(hits.filter((h) => isPerson(h) && h.path.startsWith('/t/c/')).map(msgOf));
    const unsubscribed = hits.filter((h) => h.method === 'POST');
    // Expected 150, 125, 100, 60 (40 % of openers), 15 (10 % of openers); binomial spread.
    assert.ok(opened.size >= 120 && opened.size <= 180, `people opened ${opened.size}`);
    assert.ok(proxied.size >= 95 && proxied.size <= 155, `proxies opened ${proxied.size}`);
    assert.ok(scanned.size >= 72 && scanned.size <= 128, `scanners followed ${scanned.size}`);
    assert.ok(clicked.size >= 38 && clicked.size <= 85, `people clicked ${clicked.size}`);
    assert.ok(unsubscribed.length >= 5 && unsubscribed.length <= 30, `unsubscribed ${unsubscribed.length}`);
    for (const m of clicked) assert.ok(opened.has(m), `message ${m} was clicked by someone who opened it`);
    for (const h of unsubscribed) {
      assert.match(h.path, /^\/unsubscribe\/\d+$/);
      assert.equal(h.contentType, 'application/x-www-form-urlencoded');
      assert.equal(h.body, 'List-Unsubscribe=One-Click');
      assert.ok(opened.has(msgOf(h)));
    }
    // People never click the body's unsubscribe link; nobody follows a redirect to the real site.
    assert.ok(!hits.some((h) => isPerson(h) && h.method === 'GET' && h.path.startsWith('/unsubscribe/')));
    assert.ok(!hits.some((h) => h.path.startsWith('/real-site')));
    assert.ok(hits.some((h) => h.path.endsWith('-b?x=1&y=2')), 'entities in href are decoded');

    // Same seed, same messages: the same requests. Another seed: other recipients.
    const signature = (list: Hit[]) => list.map((h) => `${h.method} ${h.path} ${h.userAgent} ${h.forwardedFor}`).sort().join('\n');
    const first = signature(hits);
    await run(tracker, 500, { seed: 'seed-1' });
    assert.equal(signature(tracker.hits.splice(0)), first);
    await run(tracker, 500, { seed: 'seed-2' });
    assert.notEqual(signature(tracker.hits.splice(0)), first);
    assert.ok(Date.now() - t0 < 30_000);
  } finally {
    await tracker.stop();
  }
});

test('privacy-proxy opens come at delivery with the proxy agent and a forwarded address in its network; scanners click every link in a burst', { timeout: 30_000 }, async () => {
  const tracker = await startTracker();
  try {
    const { t0 } = await run(tracker, 200, { seed: 'seed-3' });
    const proxy = tracker.hits.filter(isProxy);
    assert.ok(proxy.length > 20);
    for (const h of proxy) {
      assert.equal(h.userAgent, 'Mozilla/5.0');
      assert.match(h.forwardedFor, /^17\.\d+\.\d+\.\d+$/);
      assert.match(h.path, /^\/t\/o\//, 'a proxy fetches images, never links');
      // Due within 500 ms of delivery; the slack is for a loaded test machine.
      assert.ok(h.at - t0 < 3000, `a proxy open ${h.at - t0} ms after delivery`);
    }
    const byMessage = new Map<string, Hit[]>();
    for (const h of tracker.hits.filter(isScanner)) byMessage.set(msgOf(h), [...(byMessage.get(msgOf(h)) ?? []), h]);
    assert.ok(byMessage.size > 15);
    for (const [m, list] of byMessage) {
      // Both tracked links and the body's unsubscribe link (a GET, which never unsubscribes).
      assert.deepEqual(list.map((h) => h.path.split('?')[0]).sort(), [`/t/c/${m}-a`, `/t/c/${m}-b`, `/unsubscribe/${m}`]);
      const times = list.map((h) => h.at);
      assert.ok(Math.max(...times) - Math.min(...times) < 1000, 'the links of a message within a second');
      assert.ok(Math.max(...times) - t0 < 4000, `scanned ${Math.max(...times) - t0} ms after delivery`);
      assert.match(list[0].forwardedFor, /^40\.107\.\d+\.\d+$/);
      assert.ok(list.every((h) => h.method === 'GET'));
    }
    // People's addresses are in no machine range.
    for (const h of tracker.hits.filter(isPerson)) assert.match(h.forwardedFor, /^(198\.51\.100|203\.0\.113)\./);
  } finally {
    await tracker.stop();
  }
});

test("people's delays follow the profile under the time scale, and a second click waits more than Estafeta's burst window", { timeout: 60_000 }, async () => {
  const tracker = await startTracker();
  try {
    const scale = 0.004; // openDelay 300 s median -> 1.2 s, at most 1000 s -> 4 s, at least 15 s -> 60 ms
    const e = new Engagement({ timeScale: scale, seed: 'seed-4' });
    const t0 = Date.now();
    for (let i = 0; i < 300; i++) e.accepted(RATES, [`r${i}@x.sim`], message(tracker.base, i), t0);
    await e.settle();
    const opens = tracker.hits.filter((h) => isPerson(h) && h.path.startsWith('/t/o/'));
    const delays = opens.map((h) => h.at - t0).sort((a, b) => a - b);
    assert.ok(delays.length > 50);
    assert.ok(delays[0] >= 15_000 * scale - 5, `earliest open ${delays[0]} ms`);
    assert.ok(delays.at(-1)! <= 1_000_000 * scale + 500, `latest open ${delays.at(-1)} ms`);
    const median = delays[Math.floor(delays.length / 2)];
    assert.ok(median > 300_000 * scale * 0.6 && median < 300_000 * scale * 1.6, `median open delay ${median} ms, profile ${300_000 * scale}`);
    // Clicks after the open; two clicks of one person at least 1.5 s apart.
    const openAt = new Map(opens.map((h) => [msgOf(h), h.at]));
    const clicks = new Map<string, number[]>();
    for (const h of tracker.hits.filter((h) => isPerson(h) && h.path.startsWith('/t/c/'))) clicks.set(msgOf(h), [...(clicks.get(msgOf(h)) ?? []), h.at]);
    let pairs = 0;
    for (const [m, times] of clicks) {
      assert.ok(times[0] >= openAt.get(m)!, 'a person clicks after opening');
      if (times.length === 2) {
        pairs++;
        assert.ok(times[1] - times[0] >= 1400, `two clicks ${times[1] - times[0]} ms apart`);
      }
    }
    assert.ok(pairs > 0, 'some people click two links');
  } finally {
    await tracker.stop();
  }
});

test('bounded: a cap on waiting actions, only loopback hosts, failures counted and never thrown, requests time out', { timeout: 30_000 }, async () => {
  const tracker = await startTracker();
  const silent = createServer(() => {}); // accepts and never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const all = profile({ openPercent: 100, openDelay: { medianSeconds: 1, maxSeconds: 1 } });
    const capped = new Engagement({ maxPending: 10, timeScale: 0.001 });
    for (let i = 0; i < 30; i++) capped.accepted(all, [`r${i}@x.sim`], message(tracker.base, i));
    await capped.settle();
    assert.equal(capped.stats().dropped, 20);
    assert.equal(capped.stats().done, 10);

    const skipped = new Engagement({ timeScale: 0.001 });
    skipped.accepted(all, ['a@x.sim'], message('https://shop.example', 1));
    await skipped.settle();
    assert.equal(skipped.stats().skipped, 1);
    assert.equal(skipped.stats().scheduled, 0);

    const silentBase = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const failing = new Engagement({ timeScale: 0.001, timeoutMs: 200 });
    failing.accepted(all, ['a@x.sim'], message(`${tracker.base}/fail`, 1));
    failing.accepted(all, ['b@x.sim'], message('http://127.0.0.1:1', 2));
    failing.accepted(all, ['c@x.sim'], message(silentBase, 3));
    failing.accepted(all, ['d@x.sim'], Buffer.from('not a message at all'));
    const started = Date.now();
    await failing.settle();
    assert.equal(failing.stats().failed, 3, JSON.stringify(failing.stats()));
    assert.ok(Date.now() - started < 2000, 'the silent server timed out');
  } finally {
    silent.closeAllConnections();
    silent.close();
    await tracker.stop();
  }
});

test('htmlTargets and addressIn', () => {
  const t = htmlTargets('<a href="mailto:a@b">x</a><a href="http://h/1">One</a><a href="http://h/u">unsubscribe here</a><A HREF="http://h/2"><img src="http://h/i.png"></A><img src=\'cid:logo\'>', 'http://h/u');
  assert.deepEqual(t.links, ['http://h/1', 'http://h/2']);
  assert.deepEqual(t.allLinks, ['http://h/1', 'http://h/u', 'http://h/2']);
  assert.deepEqual(t.images, ['http://h/i.png']);
  assert.equal(addressIn('17.0.0.0/8', 0), '17.0.0.1');
  assert.match(addressIn('17.0.0.0/8', 0.999999), /^17\.255\.255\.\d+$/);
  assert.match(addressIn('40.107.0.0/16', 0.5), /^40\.107\.128\./);
});

test('messageTargets reads the one-click URL from List-Unsubscribe, skipping mailto', async () => {
  const { targets, messageId } = await messageTargets(message('http://127.0.0.1:9', 7));
  assert.equal(targets.oneClick, 'http://127.0.0.1:9/unsubscribe/7');
  assert.equal(messageId, '<m7@shop.example>');
  assert.equal(targets.images.length, 1);
});

test('the simulator with engagement on makes accepted mail opened; off, it requests nothing', { timeout: 30_000 }, async () => {
  const tracker = await startTracker();
  const profiles = { providers: [{ name: 'x', domains: ['x.sim'], mxHosts: [{ name: 'mx.x.sim' }], tls: false, engagement: { machineOpen: { percent: 100 } } }] };
  const on = await startSimulator({ smtpPort: 0, profiles, engagement: { timeScale: 0.001 } });
  const off = await startSimulator({ smtpPort: 0, profiles });
  try {
    for (const sim of [on, off]) {
      const c = await TestSmtpClient.connect({ host: sim.mxHosts()[0].ip, port: sim.smtpPort, ignoreTLS: true });
      assert.ok(c instanceof TestSmtpClient);
      const answer = await c.send('bounce@estafeta.test', ['ok-reader@x.sim'], message(tracker.base, 1));
      assert.equal(answer.code, 250);
      c.quit();
    }
    await on.settleEngagement();
    await off.settleEngagement();
    assert.equal(on.counts().engagement?.byKind.machineOpen, 1);
    assert.equal(off.counts().engagement, null);
    assert.equal(tracker.hits.length, 1);
    assert.equal(tracker.hits[0].path, '/t/o/1');
  } finally {
    await on.stop();
    await off.stop();
    await tracker.stop();
  }
});
