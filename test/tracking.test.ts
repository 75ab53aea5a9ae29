/**
 * The recipient's side, end to end: a delivery sent through real SMTP to an smtp-server
 * sink, then the received messages used as a recipient and a mailbox provider would: an
 * RFC 8058 one-click POST on the List-Unsubscribe URL of the received header, Chromium
 * opening the body's unsubscribe link and pressing the button, a person's open and clicks,
 * a link scanner's burst, and an Apple Mail Privacy Protection prefetch (through a trusted
 * proxy's X-Forwarded-For). Then the histories, the KPIs, the link report, the denylist, and
 * a second delivery that excludes the unsubscribed. Forged and altered tokens record
 * nothing and redirect nowhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import PostalMime from 'postal-mime';
import { chromium } from 'playwright-core';
import { startSimDns } from '../src/sim/dns-server.ts';
import { freePort, startSink } from './helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor } from './helpers/estafeta.ts';
import { deliveryLogs } from './helpers/small-delivery.ts';
import { clickToken } from '../src/mail/tracking-tokens.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const MX = '127.0.3.41';
const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

const HTML = `<html><body><p>Hello {{ firstName }}</p>
<p><a href="https://shop.example/sale?x=1&amp;y=2">The <b>sale</b></a></p>
<p><a href="https://shop.example/p/{{ firstName }}">Your page</a></p>
<p><a data-estafeta-track="off" href="https://shop.example/raw">Not tracked</a></p>
<p><a href="{{ unsubscribeUrl }}">Unsubscribe</a></p></body></html>`;

test('unsubscribe, opens and clicks: from the received messages back to the KPIs and the next delivery', { timeout: 120_000, skip: !existsSync(CHROMIUM) && `${CHROMIUM} is missing` }, async (t) => {
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'inbox.test', type: 'MX', exchange: 'mx.inbox.test', priority: 10 }, { name: 'mx.inbox.test', type: 'A', address: MX }] });
  const sink = await startSink(MX, port);
  const e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port }, http: { trustedProxies: ['127.0.0.1'] } });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  t.after(async () => {
    await browser.close();
    await e.stop();
    await sink.stop();
    await dns.stop();
  });
  const base = e.app.url!;
  const people = ['oneclick', 'page', 'reader', 'scanned', 'apple'].map((n) => `${n}@inbox.test`);

  const id = await sendDelivery(e, people, 'first');
  await waitFor('five messages received', async () => sink.received.length >= 5);
  await waitFor('five logs Sent', async () => (await deliveryLogs(e, id)).every((l) => l.status === 'sent'));
  const mails = new Map<string, { headers: Map<string, string>; html: string; text: string }>();
  for (const m of sink.received) {
    const parsed = await PostalMime.parse(m.raw);
    mails.set(m.to[0], { headers: new Map(parsed.headers.map((h) => [h.key, h.value])), html: parsed.html ?? '', text: parsed.text ?? '' });
  }
  const path = (url: string) => new URL(url).pathname;
  const mail = (who: string) => mails.get(`${who}@inbox.test`)!;
  const links = (who: string) => [...mail(who).html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
  const pixel = (who: string) => /<img src="([^"]+\/t\/o\/[^"]+)"/.exec(mail(who).html)![1];

  await t.test('the received HTML carries tracked links, the untracked link and a pixel; the text part stays readable', () => {
    const l = links('reader');
    assert.ok(l.filter((u) => u.includes('/t/c/')).every((u) => u.startsWith(`${base}/t/c/`)), 'links lead to the port the API listens on, not :0');
    assert.equal(l.filter((u) => u.includes('/t/c/')).length, 2, l.join('\n'));
    assert.ok(l.includes('https://shop.example/raw'), 'a link marked data-estafeta-track="off" is left as written');
    assert.ok(l.some((u) => u.includes('/unsubscribe/')), 'the unsubscribe link leads to the unsubscribe page, untracked');
    assert.ok(!mail('reader').html.includes('data-estafeta-track'));
    assert.match(pixel('reader'), /\/t\/o\//);
    assert.match(mail('reader').text, /Unsubscribe: http:\/\/\S+\/unsubscribe\//);
    assert.doesNotMatch(mail('reader').text, /\/t\/c\//);
  });

  await t.test('forged and altered tokens: nothing recorded, no redirect', async () => {
    const click = links('reader').find((u) => u.includes('/t/c/'))!;
    const altered = path(click).replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'));
    const r = await fetch(`${base}${altered}`, { redirect: 'manual' });
    assert.equal(r.status, 404);
    assert.equal(r.headers.get('location'), null);
    const carried = `${base}/t/c/1.1.1.${'0'.repeat(12)}.${Buffer.from('https://evil.example/').toString('base64url')}`;
    assert.equal((await fetch(carried, { redirect: 'manual' })).status, 404);
    const gif = await fetch(`${base}${path(pixel('reader')).replace(/.$/, '0')}x`);
    assert.equal(gif.status, 200, 'a pixel always answers a GIF');
    assert.equal(gif.headers.get('content-type'), 'image/gif');
    const unsub = mail('oneclick').headers.get('list-unsubscribe')!;
    const forged = path(/<(http[^>]+)>/.exec(unsub)![1]).replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'));
    const page = await fetch(`${base}${forged}`);
    assert.equal(page.status, 404);
    assert.match(await page.text(), /not valid/);
    assert.equal((await fetch(`${base}${forged}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status, 404);
    // Hostile sizes: an unsubscribe body past 4 KB and a 5,000-character token are refused unread.
    const real = path(/<(http[^>]+)>/.exec(unsub)![1]);
    assert.equal((await fetch(`${base}${real}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `List-Unsubscribe=One-Click&x=${'a'.repeat(5000)}` })).status, 413);
    assert.equal((await fetch(`${base}/t/c/${'a'.repeat(4000)}`, { redirect: 'manual' })).status, 404);
    // A personalized link carries its URL in the token: a long one must still be routed and redirect.
    // (signed for a log that does not exist, so no figure below moves)
    const longUrl = `https://shop.example/p/${'x'.repeat(600)}?ref=mail`;
    const longLink = await fetch(`${base}/t/c/${clickToken(e.app.secret, id, 999_999_999, 2, longUrl)}`, { redirect: 'manual' });
    assert.equal(longLink.status, 302);
    assert.equal(longLink.headers.get('location'), longUrl);
    await new Promise((r) => setTimeout(r, 1500));
    const k = (await e.api('GET', `/deliveries/${id}/kpis`)).body;
    assert.deepEqual([k.opens, k.machineOpens, k.clicks, k.machineClicks, k.unsubscribes], [0, 0, 0, 0, 0]);
  });

  await t.test('RFC 8058 one-click: a POST on the header URL unsubscribes at once; a second changes nothing', async () => {
    const unsub = /<(http[^>]+)>/.exec(mail('oneclick').headers.get('list-unsubscribe')!)![1];
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${base}${path(unsub)}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
      assert.equal(r.status, 200);
    }
    await waitFor('the one-click unsubscription counted', async () => (await e.api('GET', `/deliveries/${id}/kpis`)).body.unsubscribes === 1, 10_000);
    const entry = (await e.api('GET', `/quarantine/entry?address=${encodeURIComponent('oneclick@inbox.test')}`)).body;
    assert.equal(entry.status, 'denylisted');
    assert.deepEqual(entry.history.map((h: { actor: string }) => h.actor), ['recipient'], 'one entry: the second POST changed nothing');
    assert.match(entry.history[0].detail, /one click/);
  });

  await t.test('the body link opens a page in the browser; the GET alone unsubscribes nobody, the button does', async () => {
    const link = links('page').find((u) => u.includes('/unsubscribe/'))!;
    const page = await browser.newPage();
    await page.goto(`${base}${path(link)}`);
    assert.match(await page.textContent('main') ?? '', /page@inbox\.test/);
    assert.match(await page.textContent('main') ?? '', /Shop/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await e.api('GET', `/quarantine/entry?address=${encodeURIComponent('page@inbox.test')}`)).body.status === 'denylisted', false);
    await page.getByRole('button', { name: 'Unsubscribe' }).click();
    await page.waitForSelector('text=You are unsubscribed');
    await page.close();
    await waitFor('the page unsubscription counted', async () => (await e.api('GET', `/deliveries/${id}/kpis`)).body.unsubscribes === 2, 10_000);
  });

  await t.test("a person's open and two clicks; a scanner's burst; an Apple prefetch", async () => {
    // The machine rules judge clicks in the first seconds after sending: let them pass.
    await new Promise((r) => setTimeout(r, 10_500));
    assert.equal((await fetch(`${base}${path(pixel('reader'))}`, { headers: { 'user-agent': BROWSER_UA } })).status, 200);
    await waitFor('the open counted', async () => (await e.api('GET', `/deliveries/${id}/kpis`)).body.uniqueOpens === 1, 10_000);
    const [sale, own] = links('reader').filter((u) => u.includes('/t/c/'));
    const r1 = await fetch(`${base}${path(sale)}`, { redirect: 'manual', headers: { 'user-agent': BROWSER_UA } });
    assert.equal(r1.status, 302);
    assert.equal(r1.headers.get('location'), 'https://shop.example/sale?x=1&y=2');
    await new Promise((r) => setTimeout(r, 1500));
    const r2 = await fetch(`${base}${path(own)}`, { redirect: 'manual', headers: { 'user-agent': BROWSER_UA } });
    assert.equal(r2.headers.get('location'), 'https://shop.example/p/Name2', 'a personalized link leads to the recipient\'s own URL');
    // Safe Links-like: every link within a fraction of a second, no open before.
    for (const u of links('scanned').filter((x) => x.includes('/t/c/'))) await fetch(`${base}${path(u)}`, { redirect: 'manual', headers: { 'user-agent': BROWSER_UA } });
    await fetch(`${base}${path(pixel('apple'))}`, { headers: { 'user-agent': 'Mozilla/5.0', 'x-forwarded-for': '17.58.100.1' } });
    const k = await waitFor('all clicks counted', async () => {
      const kpis = (await e.api('GET', `/deliveries/${id}/kpis`)).body;
      return kpis.clicks + kpis.machineClicks >= 4 && kpis.machineOpens >= 1 ? kpis : null;
    }, 15_000);
    assert.deepEqual(
      { opens: k.opens, uniqueOpens: k.uniqueOpens, clicks: k.clicks, uniqueClicks: k.uniqueClicks, machineClicks: k.machineClicks, machineOpens: k.machineOpens },
      { opens: 1, uniqueOpens: 1, clicks: 2, uniqueClicks: 1, machineClicks: 2, machineOpens: 1 },
    );
    assert.equal(k.openRatePercent, 20, 'unique opens / sent: 1 of 5');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.ok(Number(/estafeta_tracking_events\{state="written"\} (\d+)/.exec(metrics)?.[1]) >= 6, metrics.split('\n').filter((l) => l.includes('tracking')).join('\n'));
    assert.match(metrics, /estafeta_tracking_events\{state="dropped"\} 0/);
    assert.equal(k.clickToOpenPercent, 100);
    const report = (await e.api('GET', `/deliveries/${id}/links`)).body;
    assert.deepEqual(report.links.map((l: { label: string; clicks: number; uniqueClicks: number; personalized: boolean }) => [l.label, l.clicks, l.uniqueClicks, l.personalized]), [['The sale', 1, 1, false], ['Your page', 1, 1, true]]);
    const logs = await deliveryLogs(e, id);
    const history = async (who: string) => (await e.api('GET', `/logs/${logs.find((l) => l.address === `${who}@inbox.test`).id}`)).body;
    const reader = await history('reader');
    assert.deepEqual(reader.history.map((h: { type: string }) => h.type), ['delivered', 'opened', 'clicked', 'clicked']);
    assert.equal(reader.status, 'sent', 'an open or a click never changes the status');
    assert.ok(reader.openedAt && reader.clickedAt);
    const scanned = await history('scanned');
    assert.ok(scanned.history.filter((h: { type: string }) => h.type === 'clicked').every((h: { note: string | null }) => /^machine: /.test(h.note ?? '')), JSON.stringify(scanned.history));
    const apple = await history('apple');
    assert.match(apple.history.find((h: { type: string }) => h.type === 'opened').note, /Apple Mail Privacy Protection/);
    assert.equal(apple.openedAt, null);
  });

  await t.test('the next delivery to the same addresses excludes the unsubscribed', async () => {
    const next = await sendDelivery(e, people, 'second', false);
    const logs = await deliveryLogs(e, next);
    const excluded = logs.filter((l) => l.failureReason === 'Denylisted address').map((l) => l.address).sort();
    assert.deepEqual(excluded, ['oneclick@inbox.test', 'page@inbox.test']);
  });

  await t.test('an operator lifts an unsubscription; the trail says who', async () => {
    assert.equal((await e.api('POST', '/quarantine/release', { address: 'page@inbox.test' })).status, 200);
    const entry = (await e.api('GET', `/quarantine/entry?address=${encodeURIComponent('page@inbox.test')}`)).body;
    assert.equal(entry.status, 'valid');
    assert.deepEqual(entry.history.map((h: { actor: string; action: string }) => [h.actor, h.action]), [['recipient', 'new → Denylisted'], ['test-admin (API key)', 'Denylisted → Valid']]);
    assert.match(entry.history[0].detail, /unsubscribe page/);
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function sendDelivery(e: any, people: string[], label: string, confirm = true): Promise<number> {
  const created = await e.api('POST', '/deliveries', { label, from: { name: 'Shop', address: 'news@shop.test' }, subject: 'Hello {{ firstName }}', html: HTML, text: 'Hello {{ firstName }}\nSale: https://shop.example/sale\nUnsubscribe: {{ unsubscribeUrl }}', validity: '1h' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const csv = ['email,firstName', ...people.map((p, i) => `${p},Name${i}`)].join('\n') + '\n';
  assert.equal((await e.api('PUT', `/deliveries/${created.body.id}/recipients`, csv, 'text/csv')).status, 200);
  const analysis = await e.api('POST', `/deliveries/${created.body.id}/analyze`);
  assert.equal(analysis.status, 200, JSON.stringify(analysis.body));
  if (confirm) assert.equal((await e.api('POST', `/deliveries/${created.body.id}/confirm`)).status, 200);
  return created.body.id;
}
