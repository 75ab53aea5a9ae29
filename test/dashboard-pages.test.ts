/**
 * Every page of the dashboard in a real browser (Debian's Chromium through playwright-core),
 * on data that looks like a working day: long labels and addresses, long SMTP replies, a
 * message waiting for a retry, a bounce mail, a complaint and an auto-reply, a delivery whose
 * analysis found errors, quarantined, denylisted and valid addresses, an adaptation in force
 * and one cancelled, and engagement made as recipients make it, from the received messages:
 * people's opens and clicks, a link scanner's burst, an Apple Mail Privacy Protection
 * prefetch and a one-click unsubscription. At 1280×800 and at 1920×1080 no page may scroll sideways, no card or
 * table may hide columns behind a scroll bar, and no button may be cut. Then what each page
 * must say in words is checked (log history, engine, quarantine, rates, engagement figures
 * and links, logs filters and CSV), and for a message stream: its window's KPIs, logs found by
 * Message-ID, SMTP credentials shown once, a webhook endpoint's attempts and test event.
 * Screenshots go to a temporary folder, or to docs/screenshots with SCREENSHOTS=docs/screenshots
 * (NAME.png at 1280 px, NAME-1920.png at 1920 px).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import NodemailerConnection from 'nodemailer/lib/smtp-connection';
import PostalMime from 'postal-mime';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startSimDns } from '../src/sim/dns-server.ts';
import { verpAddress } from '../src/mail/verp.ts';
import { QuarantineStatus } from '../src/quarantine/index.ts';
import { buildWeb } from '../scripts/build-web.ts';
import { freePort, startSink } from './helpers/smtp-sink.ts';
import { startTestEstafeta, TEST_ADMIN_PASSWORD, waitFor, type TestEstafeta } from './helpers/estafeta.ts';
import { arfMail, dsnMail } from './helpers/report-mails.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const MX = { accept: '127.0.6.11', reject: '127.0.6.12', grey: '127.0.6.13' };
const BOUNCE_DOMAIN = 'bounces.shop.test';
const shots = resolve(process.env.SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'estafeta-pages-')));
const LONG_LABEL = 'Spring collection launch for the loyalty programme members, second wave (Europe and United Kingdom)';
const REJECT_TEXT = (rcpt: string) => `5.1.1 <${rcpt}>: Recipient address rejected: User unknown in virtual mailbox table; see https://postmaster.reject.test/errors/5.1.1 for the details of this policy`;
const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const MAIN_HTML = '<p>Hello {{ firstName }}</p><p><a href="https://shop.example/sale">The sale</a></p><p><a href="https://shop.example/p/{{ firstName }}">Your page</a></p><a href="{{ unsubscribeUrl }}">Unsubscribe</a>';
const GREY_TEXT = '4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited.';

type Conn = { connect(cb: (e?: Error) => void): void; send(env: object, msg: string, cb: (e: (Error & { response?: string }) | null, info?: unknown) => void): void; quit(): void; on(e: string, f: () => void): void };
const SMTPConnection = NodemailerConnection as unknown as new (o: object) => Conn;

/** Sends one message to the bounce listener. */
function toListener(e: TestEstafeta, to: string, raw: string): Promise<void> {
  const listener = e.app.inbound!;
  const conn = new SMTPConnection({ host: listener.host, port: listener.port, ignoreTLS: true, name: 'mx.accept.test' });
  conn.on('error', () => {});
  return new Promise((resolve, reject) => {
    conn.connect((err) => {
      if (err) return reject(err);
      conn.send({ from: '', to: [to] }, raw, (err2) => {
        conn.quit();
        if (err2) reject(err2);
        else resolve();
      });
    });
  });
}

// The bounce's text carries a script tag: the log detail must show it as text.
const dsn = (rcpt: string) =>
  dsnMail({ to: 'bounces', rcpt, mx: 'mx.accept.test', text: 'This is the mail system at host mx.accept.test. <script>alert("not run")</script>\r\nYour message could not be delivered to one or more recipients.' });

const arf = (rcpt: string, token: string) =>
  arfMail({ from: 'feedback@accept.test', to: `fbl@${BOUNCE_DOMAIN}`, rcpt, userAgent: 'AcceptFBL/1.0', original: { From: 'news@shop.example', To: rcpt, Subject: 'Spring collection', 'X-Estafeta-Log': token } });

/**
 * What sticks out at this width: the page scrolling sideways, a card or table hiding columns,
 * a cut button, a label wrapped to three lines. Plain JavaScript sent as text, because the
 * test's compiler would add helpers (__name) the page does not have. Cells and ".clip" texts
 * end in an ellipsis on purpose (their whole text is in their title).
 */
const OVERFLOW = String.raw`(() => {
  const out = [];
  const se = document.scrollingElement;
  if (se.scrollWidth > se.clientWidth) out.push('the page scrolls sideways: ' + se.scrollWidth + ' > ' + se.clientWidth);
  const name = (el) => el.tagName.toLowerCase() + (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '') + ' "' + (el.textContent || '').trim().slice(0, 40) + '"';
  for (const el of document.querySelectorAll('main *, dialog[open] *')) {
    const cs = getComputedStyle(el);
    if (!el.getBoundingClientRect().width) continue;
    const clips = el.tagName === 'TD' || el.closest('td.clip, td.reply, td.addr, .clip');
    if (!clips && ['auto', 'scroll', 'hidden'].includes(cs.overflowX) && el.scrollWidth > el.clientWidth + 1) out.push(name(el) + ' hides ' + (el.scrollWidth - el.clientWidth) + ' px');
    if ((el.tagName === 'BUTTON' || el.classList.contains('button') || el.tagName === 'TH') && el.scrollWidth > el.clientWidth + 1) out.push(name(el) + ' is cut');
  }
  // A button inside a cell that clips its content must fit in the cell.
  for (const b of document.querySelectorAll('main td button, main td .button, dialog[open] td button')) {
    const td = b.closest('td');
    if (b.getBoundingClientRect().right > td.getBoundingClientRect().right + 1 || td.scrollWidth > td.clientWidth) out.push(name(b) + ' sticks out of its cell');
  }
  // A row's actions stay on one line: buttons stacked in a cell are a column too narrow.
  for (const box of document.querySelectorAll('main td .actions')) {
    const tops = new Set([...box.querySelectorAll('button')].map((b) => Math.round(b.getBoundingClientRect().top)));
    if (tops.size > 1) out.push(name(box) + ' stacks its buttons on ' + tops.size + ' lines');
  }
  const right = document.querySelector('main').getBoundingClientRect().right;
  for (const el of document.querySelectorAll('main table, main .card, main button')) {
    const r = el.getBoundingClientRect().right;
    if (r > right + 1) out.push(name(el) + ' ends ' + Math.round(r - right) + ' px past the page');
  }
  for (const el of document.querySelectorAll('main td.label-cell > a, main th, main td button')) {
    const lh = parseFloat(getComputedStyle(el).lineHeight) || 20;
    const h = el.getBoundingClientRect().height;
    if (h > lh * 2.6) out.push(name(el) + ' wraps to ' + Math.round(h / lh) + ' lines');
  }
  return out;
})()`;

async function overflow(page: Page): Promise<string[]> {
  return page.evaluate(OVERFLOW) as Promise<string[]>;
}

test('every page fits at 1280 and 1920 px and says what it means in words', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is missing`, timeout: 240_000 }, async (t) => {
  mkdirSync(shots, { recursive: true });
  await buildWeb({ quiet: true });
  const port = await freePort(Object.values(MX));
  const dns = await startSimDns({
    port: 0,
    records: (['accept', 'reject', 'grey'] as const).flatMap((k) => [
      { name: `${k}.test`, type: 'MX' as const, exchange: `mx.${k}.test`, priority: 10 },
      { name: `mx.${k}.test`, type: 'A' as const, address: MX[k] },
    ]),
  });
  const sinks = [
    await startSink(MX.accept, port),
    await startSink(MX.reject, port, (rcpt) => ({ code: 550, text: REJECT_TEXT(rcpt) })),
    // Always greylisted: these messages wait for their next try the whole test long.
    await startSink(MX.grey, port, () => ({ code: 451, text: GREY_TEXT })),
  ];
  const e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port }, bounces: { domain: BOUNCE_DOMAIN }, http: { trustedProxies: ['127.0.0.1'] } });
  let browser: Browser | undefined;
  let stopHooks = async () => {};
  try {
    // A delivery sent to three kinds of MX: accepted, refused, greylisted.
    const recipients = [
      ...Array.from({ length: 30 }, (_, i) => ({ email: `customer.with.a.rather.long.name${i}@accept.test`, firstName: `Ana${i}` })),
      ...Array.from({ length: 8 }, (_, i) => ({ email: `unknown${i}@reject.test`, firstName: `Bob${i}` })),
      ...Array.from({ length: 4 }, (_, i) => ({ email: `grey${i}@grey.test`, firstName: `Eva${i}` })),
    ];
    const main = (await e.api('POST', '/deliveries', { label: LONG_LABEL, from: { name: 'Shop', address: 'news@shop.example' }, subject: 'Hello {{ firstName }}', html: MAIN_HTML, validity: '1h', recipients })).body;
    assert.equal((await e.api('POST', `/deliveries/${main.id}/analyze`)).status, 200);
    assert.equal((await e.api('POST', `/deliveries/${main.id}/confirm`)).status, 200);
    await waitFor('sent and failed', async () => {
      const k = (await e.api('GET', `/deliveries/${main.id}/kpis`)).body;
      return k.sent === 30 && k.failed === 8;
    });
    const logs = (await e.api('GET', `/deliveries/${main.id}/logs?limit=1000`)).body.logs as { id: number; address: string }[];
    const logOf = (address: string) => logs.find((l) => l.address === address)!.id;
    const bounced = logOf('customer.with.a.rather.long.name0@accept.test');
    const complainer = logOf('customer.with.a.rather.long.name1@accept.test');
    const away = logOf('customer.with.a.rather.long.name2@accept.test');
    const greyLog = logOf('grey0@grey.test');
    await toListener(e, verpAddress(e.app.secret, bounced, BOUNCE_DOMAIN), dsn('customer.with.a.rather.long.name0@accept.test'));
    const token = verpAddress(e.app.secret, complainer, BOUNCE_DOMAIN);
    await toListener(e, `fbl@${BOUNCE_DOMAIN}`, arf('customer.with.a.rather.long.name1@accept.test', token.slice('bounce+'.length, token.indexOf('@'))));
    await toListener(e, verpAddress(e.app.secret, away, BOUNCE_DOMAIN), ['From: away@accept.test', 'To: x', 'Subject: Out of office: Hello Ana2', 'Auto-Submitted: auto-replied', '', 'I am away until Monday.', ''].join('\r\n'));
    await waitFor('the bounce, complaint and auto-reply applied', async () => {
      const [b, c, a] = await Promise.all([bounced, complainer, away].map(async (id) => (await e.api('GET', `/logs/${id}`)).body));
      return b.status === 'failed' && c.complainedAt && a.history.length >= 2;
    });

    // Engagement, as recipients and their mail programs make it, from the received messages.
    // People open first (a click within 10 s of sending with no open before is a scanner's):
    // Ana3 opens twice and clicks "Your page", Ana4 clicks "Your page", Ana9 clicks "The sale",
    // Ana5 only opens; Ana6's gateway follows both links at once (a burst: machine clicks);
    // Ana7's Apple Mail prefetches the pixel (machine open); Ana8 unsubscribes with one click.
    const received = new Map<string, { html: string; unsubscribe: string }>();
    for (const m of sinks[0].received) {
      const parsed = await PostalMime.parse(m.raw);
      received.set(m.to[0], { html: parsed.html ?? '', unsubscribe: /<(http[^>]+)>/.exec(parsed.headers.find((h) => h.key === 'list-unsubscribe')?.value ?? '')?.[1] ?? '' });
    }
    const ana = (i: number) => received.get(`customer.with.a.rather.long.name${i}@accept.test`)!;
    const local = (url: string) => `${e.app.url}${new URL(url).pathname}`;
    const pixelOf = (i: number) => local(/<img src="([^"]+\/t\/o\/[^"]+)"/.exec(ana(i).html)![1]);
    const linkOf = (i: number, label: string) => local(new RegExp(`<a href="([^"]+/t/c/[^"]+)"[^>]*>${label}</a>`).exec(ana(i).html)![1]);
    const asPerson = { headers: { 'user-agent': BROWSER_UA }, redirect: 'manual' as const };
    for (const i of [3, 3, 4, 5, 9]) assert.equal((await fetch(pixelOf(i), asPerson)).status, 200);
    await fetch(pixelOf(7), { headers: { 'user-agent': 'Mozilla/5.0', 'x-forwarded-for': '17.58.100.1' } });
    const kpis = async () => (await e.api('GET', `/deliveries/${main.id}/kpis`)).body;
    await waitFor('the opens applied', async () => (await kpis()).uniqueOpens === 4 && (await kpis()).machineOpens === 1, 10_000);
    for (const [i, label] of [[3, 'Your page'], [4, 'Your page'], [9, 'The sale']] as const) assert.equal((await fetch(linkOf(i, label), asPerson)).status, 302);
    await Promise.all(['The sale', 'Your page'].map((label) => fetch(linkOf(6, label), asPerson)));
    assert.equal((await fetch(local(ana(8).unsubscribe), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status, 200);
    const engaged = await waitFor('the clicks and the unsubscription applied', async () => {
      const k = await kpis();
      return k.clicks === 3 && k.machineClicks === 2 && k.unsubscribes === 1 ? k : null;
    }, 15_000);
    assert.deepEqual([engaged.uniqueOpens, engaged.opens, engaged.uniqueClicks, engaged.sent], [4, 5, 3, 29]);
    const clicker = logOf('customer.with.a.rather.long.name4@accept.test');
    const appleLog = logOf('customer.with.a.rather.long.name7@accept.test');
    const scannedLog = logOf('customer.with.a.rather.long.name6@accept.test');
    const unsubscribed = 'customer.with.a.rather.long.name8@accept.test';

    // A delivery waiting for confirmation, and one whose analysis found errors.
    const waiting = (await e.api('POST', '/deliveries', { label: 'Weekly digest, week 49', from: { address: 'news@shop.example' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', recipients: [{ email: 'a@accept.test' }, { email: 'b@accept.test' }] })).body;
    await e.api('POST', `/deliveries/${waiting.id}/analyze`);
    const broken = (await e.api('POST', '/deliveries', { label: 'Store opening (city missing for one recipient)', from: { address: 'news@shop.example' }, subject: 'A new shop in {{ city }}', text: 'See you in {{ city }}. {{ unsubscribeUrl }}', recipients: [{ email: 'c@accept.test', city: 'Porto' }, { email: 'd@accept.test' }] })).body;
    await e.api('POST', `/deliveries/${broken.id}/analyze`);

    // The quarantine: valid addresses (hidden by default), quarantined ones, one denylisted.
    const now = Date.now();
    const q = (address: string, status: number, at: number, text: string | null) => ({ address, domain: address.split('@')[1], status, failure_type: 2, failure_reason: 1, error_count: 3, last_error_at: at, error_text: text, created_at: at, updated_at: at });
    await e.app.db.kysely.insertInto('quarantine').values([
      q('valid.again@accept.test', QuarantineStatus.Valid, now - 5000, null),
      q('another.valid.one@accept.test', QuarantineStatus.Valid, now - 4000, null),
      q('older.error@reject.test', QuarantineStatus.Quarantine, now - 86_400_000 * 3, '550 5.1.1 user unknown'),
      q('a.very.long.address.that.never.ends.for.testing.layout@subdomain.of.a.long.domain.example', QuarantineStatus.Quarantine, now - 60_000, `550 5.1.1 ${'The email account that you tried to reach does not exist. '.repeat(3)}`),
      q('spam.trap@accept.test', QuarantineStatus.Denylisted, now - 30_000, 'added by admin'),
    ]).execute();

    // An adaptation in force with a long reason, and one cancelled (kept in the history).
    const adaptation = (reason: string) => e.api('POST', '/mta/adaptations', { site: 'mx.accept.test', action: 'throttle', factor: 0.5, duration: '1h', reason });
    await adaptation(`421 4.7.0 [${MX.accept}] Our system has detected that this message is suspicious due to the very low reputation of the sending IP address.`);
    const ended = (await adaptation('set by the test, then cancelled')).body.id;
    await e.api('DELETE', `/mta/adaptations/${ended}`);

    // A message stream: a webhook endpoint for all traffic and a broken one for the stream,
    // then messages delivered and refused through the sinks; SMTP credentials for it.
    const hooks = createServer((req, res) => {
      req.resume();
      req.on('end', () => (req.url === '/hooks/broken' ? res.writeHead(500).end('upstream queue is full, try later') : res.writeHead(200).end('ok')));
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    stopHooks = () => new Promise<void>((r) => hooks.close(() => r()));
    const hookBase = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
    const stream = (await e.api('POST', '/streams', { name: 'order-receipts', fromDomains: ['shop.example', 'mail.shop.example'], validity: '1h' })).body;
    await e.api('POST', '/streams', { name: 'password-resets', fromDomains: ['shop.example'] });
    const hook = (await e.api('POST', '/webhooks', { url: `${hookBase}/hooks/ok`, eventTypes: ['delivered', 'bounced'] })).body;
    const brokenHook = (await e.api('POST', '/webhooks', { url: `${hookBase}/hooks/broken`, deliveryId: stream.id })).body;
    for (const to of [...Array.from({ length: 5 }, (_, i) => `buyer.number.${i}@accept.test`), 'nobody1@reject.test', 'nobody2@reject.test']) {
      const sent = await e.api('POST', '/messages', { stream: stream.id, from: { name: 'Shop', address: 'orders@shop.example' }, to: [to], subject: 'Your order', text: 'Thank you for your order.', tags: ['receipt'] });
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
    }
    await waitFor('the stream\'s outcomes', async () => {
      const r = (await e.api('GET', `/streams/${stream.id}/report?since=1h`)).body;
      return r.kpis.sent === 5 && r.kpis.failed === 2;
    });
    const streamLogs = (await e.api('GET', `/streams/${stream.id}/logs`)).body.logs as { id: number; address: string; status: string }[];
    const streamBounce = streamLogs.find((l) => l.address === 'nobody1@reject.test')!.id;
    const streamMessageId = (await e.api('GET', `/logs/${streamLogs.find((l) => l.address === 'buyer.number.3@accept.test')!.id}`)).body.messageId as string;
    await e.api('POST', `/streams/${stream.id}/smtp-credentials`);
    assert.equal((await e.api('POST', `/webhooks/${hook.id}/test`)).body.ok, true);
    assert.equal((await e.api('POST', `/webhooks/${brokenHook.id}/test`)).body.ok, false);
    await waitFor('the webhook attempts', async () => (await e.api('GET', `/webhooks/${hook.id}`)).body.attempts.some((a: { attempt: number }) => a.attempt > 0) && (await e.api('GET', `/webhooks/${brokenHook.id}`)).body.failures > 0, 20_000);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    const errors: string[] = [];
    const notFound: string[] = [];
    const pages: [string, string, string][] = [
      ['deliveries', '/deliveries', `tr[data-delivery="${main.id}"]`],
      ['new-delivery', '/deliveries/new', 'form'],
      ['delivery-dashboard', `/deliveries/${main.id}`, '.chart'],
      ['delivery-links', `/deliveries/${main.id}/links`, 'tr[data-link]'],
      ['delivery-analysis', `/deliveries/${main.id}/analysis`, '.lines'],
      ['delivery-logs', `/deliveries/${main.id}/logs`, 'tr[data-log]'],
      ['log-detail', `/deliveries/${main.id}/logs/${bounced}`, '[data-testid=inbound-mail] pre'],
      ['log-detail-retry', `/deliveries/${main.id}/logs/${greyLog}`, '.timeline'],
      ['log-detail-engagement', `/deliveries/${main.id}/logs/${clicker}`, '.timeline [data-event=clicked]'],
      ['delivery-audit', `/deliveries/${main.id}/audit`, 'table.grid'],
      ['delivery-errors', `/deliveries/${broken.id}`, '[data-testid=analysis-errors]'],
      ['delivery-errors-analysis', `/deliveries/${broken.id}/analysis`, '.lines'],
      ['quarantine', '/quarantine', 'tr[data-address]'],
      ['quarantine-entry', `/quarantine?entry=${encodeURIComponent(unsubscribed)}`, '[data-table=quarantine-history] tr[data-actor]'],
      ['engine', '/engine', '[data-table=adaptations]'],
      ['admin', '/admin', 'table.grid'],
      ['streams', '/streams', `tr[data-stream="${stream.id}"]`],
      ['stream-dashboard', `/streams/${stream.id}?window=1h`, '.chart'],
      ['stream-dashboard-7d', `/streams/${stream.id}?window=7d`, '.chart'],
      ['stream-logs', `/streams/${stream.id}/logs`, 'tr[data-log]'],
      ['stream-log-detail', `/streams/${stream.id}/logs/${streamBounce}`, '.timeline'],
      ['stream-settings', `/streams/${stream.id}/settings`, 'form[aria-label="Stream settings"]'],
      ['stream-credentials', `/streams/${stream.id}/credentials`, 'tr[data-credential]'],
      ['webhooks', '/webhooks', `tr[data-webhook="${hook.id}"]`],
      ['webhook-attempts', `/webhooks/${hook.id}`, 'tr[data-attempt]'],
      ['webhook-failing', `/webhooks/${brokenHook.id}`, 'tr[data-attempt]'],
    ];
    for (const [width, height, suffix] of [[1280, 800, ''], [1920, 1080, '-1920']] as const) {
      const page = await browser.newPage({ viewport: { width, height } });
      page.on('pageerror', (err) => errors.push(err.message));
      page.on('response', (r) => r.status() === 404 && r.url().includes('/api/') && notFound.push(r.url()));
      await page.goto(e.app.url!);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await page.screenshot({ path: join(shots, `sign-in${suffix}.png`) });
      await page.getByLabel('User name').fill('admin');
      await page.getByLabel('Password').fill(TEST_ADMIN_PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
      for (const [name, path, ready] of pages) {
        await page.goto(`${e.app.url}${path}`);
        if (name === 'log-detail') await page.getByRole('button', { name: 'Show the mail received' }).click();
        await page.locator(ready).first().waitFor({ timeout: 10_000 });
        await page.waitForTimeout(300);
        const problems = await overflow(page);
        await page.screenshot({ path: join(shots, `${name}${suffix}.png`), fullPage: !/log-detail/.test(name) && name !== 'quarantine-entry' });
        assert.deepEqual(problems, [], `${path} at ${width} px`);
      }
      t.diagnostic(`${pages.length} pages fit at ${width}×${height}`);
      await page.close();
    }
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(e.app.url!);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(TEST_ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();

    // A log's detail in words: no JSON, no epoch milliseconds, no code names; the bounce mail as text.
    await page.goto(`${e.app.url}/deliveries/${main.id}/logs/${bounced}`);
    await page.getByText(/^Bounce mail received: Hard · User unknown/).waitFor();
    await page.getByRole('button', { name: 'Show the mail received' }).click();
    await page.locator('[data-testid=inbound-mail] pre', { hasText: 'Final-Recipient: rfc822;' }).waitFor();
    // The bounce's <script> is text on the page, not an element.
    await page.getByText('<script>alert("not run")</script>', { exact: false }).first().waitFor();
    assert.equal(await page.locator('dialog[open] script').count(), 0);
    // What Estafeta writes (the mail received is the sender's text, not ours).
    const detail = await page.locator('dialog[open] .pairs, dialog[open] .ev-head, dialog[open] .ev > .small').allInnerTexts();
    const bad = detail.join('\n').match(/[{}]|"category"|\b1[0-9]{12}\b|\bnull\b|\b[a-z]+[A-Z][a-zA-Z]*\b/);
    assert.equal(bad, null, `no JSON, epoch ms, null or camelCase key in: ${detail.join(' | ')}`);
    await page.getByText(/^Delivered( \(attempt \d+\))?: the receiving server accepted/).waitFor();
    await page.getByTestId('quarantine-link').click();
    await page.locator('tr[data-address="customer.with.a.rather.long.name0@accept.test"]').waitFor();
    // A message waiting: "Soft · Unreachable …, next try HH:MM".
    await page.goto(`${e.app.url}/deliveries/${main.id}/logs/${greyLog}`);
    await page.getByText(/^Deferred \(attempt \d+\): Soft · \w+.*, next try \d\d:\d\d$/).first().waitFor();
    await page.getByText(/Soft · \w+.*, next try \d\d:\d\d/).first().waitFor();
    // The complaint shows on the log.
    await page.goto(`${e.app.url}/deliveries/${main.id}/logs/${complainer}`);
    await page.getByText(/^Complaint received \(abuse\)/).waitFor();
    // Rates against the providers' limits: 1 complaint in 29 sent is far above Gmail's 0.3 %.
    await page.goto(`${e.app.url}/deliveries/${main.id}`);
    await page.locator('[data-rate=complaints][data-level=over]').waitFor();
    assert.match(await page.locator('[data-rate=complaints] .rate-value').innerText(), /^3\.45 %$/);
    assert.match((await page.getByTestId('rate-alarm').allInnerTexts()).join('\n'), /Complaint rate 3\.45 %: 11\.5 times Gmail's and Yahoo's limit of 0\.3 %/);
    await page.locator('[data-rate=hard][data-level=over]').waitFor();
    // Engagement: each figure with its rate and what the rate is taken of; machines apart.
    // (No function declared inside evaluate: the test's compiler would add a helper the page lacks.)
    const figure = (id: string) =>
      page.locator(`[data-engagement=${id}]`).evaluate((el) => ({
        value: el.querySelector('.kpi-value')!.firstChild!.textContent,
        rate: el.querySelector('[data-part=rate]')?.textContent ?? null,
        of: el.querySelector('[data-part=of]')?.textContent ?? null,
        extra: el.querySelector('[data-part=extra]')?.textContent ?? null,
      }));
    assert.deepEqual(await figure('opens'), { value: '4', rate: '13.79 %', of: 'of 29 sent', extra: '5 opens in all' });
    assert.deepEqual(await figure('clicks'), { value: '3', rate: '10.34 %', of: 'of 29 sent', extra: '3 clicks in all' });
    assert.deepEqual(await figure('clickToOpen'), { value: '75.00 %', rate: null, of: '3 of 4 who opened', extra: null });
    assert.deepEqual(await figure('unsubscribes'), { value: '1', rate: '3.45 %', of: 'of 29 sent', extra: null });
    const machines = await page.getByTestId('machine-engagement').innerText();
    assert.match(machines, /^1 machine open\s+2 machine clicks\s+Counted apart and in no rate: .*privacy proxies.*scanners/s);
    // Live: an open made while the overview is shown appears without a reload.
    const before = Date.now();
    await fetch(pixelOf(10), asPerson);
    await page.waitForFunction(() => document.querySelector('[data-engagement=opens] .kpi-value')?.firstChild?.textContent === '5', null, { timeout: 10_000 });
    const liveMs = Date.now() - before;
    t.diagnostic(`a new open on screen ${liveMs} ms after the pixel was fetched (written every 200 ms, applied, streamed every 500 ms)`);
    assert.ok(liveMs < 3000, `the open showed after ${liveMs} ms`);
    // Links: most clicked by people first (not the message's order), with the share of clickers.
    await page.goto(`${e.app.url}/deliveries/${main.id}/links`);
    await page.locator('tr[data-link]').first().waitFor();
    const linkRows = (await page.locator('[data-table=links] tbody tr').allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim());
    assert.deepEqual(linkRows, ['2 Your page https://shop.example/p/{{ firstName }} (personalized) HTML 2 2 66.67 %', '1 The sale https://shop.example/sale HTML 1 1 33.33 %']);
    assert.match(await page.getByTestId('links-summary').innerText(), /^3 people clicked at least one link; 2 machine clicks \(link scanners\) are left out/);
    // Opens, clicks and unsubscriptions in a log's history, in words.
    await page.goto(`${e.app.url}/deliveries/${main.id}/logs/${clicker}`);
    await page.locator('.ev-head', { hasText: /^\S.* Opened$/ }).waitFor();
    await page.locator('.ev-head', { hasText: 'Clicked link 2 (Your page)' }).waitFor();
    assert.match(await page.getByTestId('engagement').innerText(), /^first opened \d+ \w{3} \d\d:\d\d:\d\d · first clicked \d+ \w{3} \d\d:\d\d:\d\d/);
    await page.goto(`${e.app.url}/deliveries/${main.id}/logs/${appleLog}`);
    await page.locator('.ev-head', { hasText: 'Opened by a machine: Apple Mail Privacy Protection' }).waitFor();
    assert.equal(await page.getByTestId('engagement').count(), 0, 'a machine open is no first open');
    await page.goto(`${e.app.url}/deliveries/${main.id}/logs/${scannedLog}`);
    const machineClick = page.locator('.ev-head', { hasText: /Clicked link [12] \((The sale|Your page)\) by a machine: / });
    await machineClick.first().waitFor();
    assert.equal(await machineClick.count(), 2);
    await page.goto(`${e.app.url}/deliveries/${main.id}/logs/${logOf(unsubscribed)}`);
    await page.locator('.ev-head', { hasText: 'Unsubscribed with one click' }).waitFor();
    await page.goto(`${e.app.url}/deliveries/${main.id}`);
    // Per domain: delivered, deferred and failed, not only failures.
    const domainRow = (d: string) => page.locator(`[data-table=domains] tr[data-domain="${d}"]`).innerText();
    assert.match(await domainRow('reject.test'), /reject\.test\s+8\s+0\s+0\s+8\s+0\s+100 %/);
    assert.match(await domainRow('grey.test'), /grey\.test\s+4\s+0\s+4\s+0\s+0/);
    assert.match(await domainRow('accept.test'), /accept\.test\s+30\s+29\s+0\s+1\s+0/);
    const domainsCsv = await page.evaluate(async (href) => (await fetch(href!)).text(), await page.getByTestId('domains-csv').getAttribute('href'));
    assert.match(domainsCsv, /^domain,recipients,delivered,deferred,failed,waiting,failed %\r\naccept\.test,30,29,0,1,0,3\.33\r\n/);
    // Throughput in buckets that fit a short delivery, with the rate and what is left.
    const tp = (await e.api('GET', `/deliveries/${main.id}/throughput`)).body;
    assert.ok(tp.bucketSeconds < 60, `seconds-wide buckets for a short delivery: ${tp.bucketSeconds}`);
    assert.equal(tp.points.reduce((a: number, p: { sent: number; failed: number }) => a + p.sent + p.failed, 0), 38);
    assert.equal(tp.remaining, 4);
    assert.match(await page.getByTestId('throughput-summary').innerText(), /Now [\d,.]+ messages per minute\s+4 left to process\s+all of them wait for a retry/);
    await page.getByText(/Messages per (5|10|15|30) seconds that became Sent or Failed/).waitFor();

    // The logs list: complaints and auto-replies on their rows and filterable, a total, the
    // next try of waiting messages, filters in the URL, and a CSV of what the filters show.
    await page.goto(`${e.app.url}/deliveries/${main.id}/logs`);
    await page.getByTestId('logs-total').getByText('42 logs match').waitFor();
    await page.locator(`tr[data-log="${complainer}"] [data-flag=complaint]`).waitFor();
    await page.locator(`tr[data-log="${away}"] [data-flag=auto-reply]`).waitFor();
    assert.match(await page.locator(`tr[data-log="${greyLog}"] [data-col=next-attempt]`).innerText(), /^\d+ \w{3} \d\d:\d\d:\d\d$/);
    await page.getByLabel('Feedback').selectOption('complained');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-log]').length === 1);
    assert.match(page.url(), /flag=complained/);
    await page.reload();
    await page.getByTestId('logs-total').getByText('1 log match').waitFor();
    assert.equal(await page.getByLabel('Feedback').inputValue(), 'complained', 'the filter came back from the URL');
    await page.getByLabel('Feedback').selectOption('auto-replied');
    await page.waitForFunction((id) => document.querySelectorAll('tr[data-log]').length === 1 && document.querySelector(`tr[data-log="${id}"]`), away);
    await page.getByLabel('Feedback').selectOption('');
    await page.getByLabel('Status').selectOption('failed');
    await page.getByTestId('logs-total').getByText('9 logs match').waitFor();
    const csvHref = await page.getByTestId('logs-csv').getAttribute('href');
    assert.match(csvHref ?? '', /logs\.csv\?status=failed$/);
    const csv = await page.evaluate(async (href) => {
      const r = await fetch(href!);
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
    }, csvHref);
    assert.equal(csv.status, 200);
    assert.match(csv.type ?? '', /^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines.length, 1 + 9, csv.text);
    assert.match(lines[0], /^address,status,failure type,failure reason,attempts,last reply,next attempt/);
    assert.ok(lines.slice(1).every((l) => /,Failed,Hard,User unknown,/.test(l)), csv.text);
    assert.equal((await fetch(`${e.app.url}${csvHref}`)).status, 401, 'the export needs a signed-in user or a key');
    const qcsv = await e.api('GET', '/quarantine');
    assert.equal(qcsv.status, 200);
    const quarantineCsv = await (await fetch(`${e.app.url}/api/v1/quarantine.csv?status=denylisted`, { headers: { authorization: `Bearer ${e.adminKey}` } })).text();
    assert.equal(quarantineCsv.trim().split('\r\n').length, 1 + 3, `the denylisted: added by hand, a complaint, an unsubscription: ${quarantineCsv}`);

    // A delivery whose analysis found errors says so, and Confirm says why it cannot be used.
    await page.goto(`${e.app.url}/deliveries/${broken.id}`);
    await page.getByTestId('analysis-errors').getByText(/lack a field the content needs: city/).waitFor();
    const confirmButton = page.locator('button[data-action=confirm]');
    assert.equal(await confirmButton.isDisabled(), true);
    assert.match((await confirmButton.getAttribute('title')) ?? '', /^Confirmation is blocked: the analysis found 1 error/);
    assert.equal(await page.locator('[data-kpi=failed] .kpi-value').innerText(), '0', 'a recipient not personalized is not a sending failure');
    assert.equal(await page.locator('[data-kpi=analysisErrors] .kpi-value').innerText(), '1');
    await page.goto(`${e.app.url}/deliveries`);
    const brokenRow = page.locator(`tr[data-delivery="${broken.id}"]`);
    await brokenRow.locator('[data-col=analysis-errors]').waitFor();
    assert.equal(await brokenRow.locator('button[data-action=confirm]').isDisabled(), true);
    assert.equal(await page.locator(`tr[data-delivery="${waiting.id}"] button[data-action=confirm]`).isDisabled(), false, 'a clean analysis leaves Confirm enabled');
    assert.equal(await page.locator(`tr[data-delivery="${main.id}"] [data-col=complaint-alarm]`).innerText(), '▲ Complaints 3.45 %', 'a complaint rate above the limit shows in the list too');

    // The audit trail and the analysis hints in words; commands as code.
    await page.goto(`${e.app.url}/deliveries/${main.id}/audit`);
    await page.getByRole('cell', { name: 'Analysis started' }).waitFor();
    const audit = await page.locator('[data-table=audit]').innerText();
    assert.match(audit, /Analyzed\s+42 targeted, 42 to deliver, no error/);
    assert.match(audit, /Created\s+with 42 recipients/);
    assert.doesNotMatch(audit, /toDeliver|analysis-started|[{}]/);
    await page.goto(`${e.app.url}/deliveries/${main.id}/analysis`);
    await page.locator('.lines code.cmd', { hasText: /^estafeta dkim create shop\.example --selector s1$/ }).waitFor();

    // Quarantine: what deliveries exclude by default, newest error first; cards filter.
    await page.goto(`${e.app.url}/quarantine`);
    await page.locator('tr[data-address]').first().waitFor();
    const statuses = await page.locator('tr[data-address]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    assert.ok(statuses.length >= 10 && statuses.every((x) => x === 'quarantine' || x === 'denylisted' || x === 'suspected'), statuses.join());
    const addresses = await page.locator('tr[data-address]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-address')));
    assert.equal(addresses[addresses.length - 1], 'older.error@reject.test', 'the oldest error comes last');
    await page.locator('[data-card=valid]').click();
    await page.waitForFunction(() => [...document.querySelectorAll('tr[data-address]')].every((r) => r.getAttribute('data-status') === 'valid') && document.querySelectorAll('tr[data-address]').length === 2);
    assert.match(page.url(), /status=valid/);
    await page.locator('[data-card=excluded]').click();
    await page.locator('tr[data-address="spam.trap@accept.test"]').waitFor();
    assert.equal(await page.locator('input[name=bulk-domain]').count(), 0, 'the bulk release form is behind its button');
    await page.getByRole('button', { name: 'Release in bulk…' }).click();
    await page.locator('input[name=bulk-domain]').waitFor();
    await page.keyboard.press('Escape');
    // An unsubscribed address reads as such; its entry shows the trail, and the release says
    // that it lifts the unsubscription; the trail then names the operator.
    const unsubRow = page.locator(`tr[data-address="${unsubscribed}"]`);
    assert.equal(await unsubRow.locator('[data-col=reason]').innerText(), 'Unsubscribed');
    await unsubRow.getByRole('link', { name: unsubscribed }).click();
    await page.locator('[data-table=quarantine-history] tr[data-actor=recipient]').waitFor();
    assert.match(await page.locator('[data-table=quarantine-history] tr[data-actor=recipient]').innerText(), /The recipient\s+new → Denylisted\s+unsubscribed with one click/);
    assert.match(page.url(), /entry=/);
    await page.getByRole('button', { name: 'Release: lift the unsubscription' }).click();
    await page.locator('[data-table=quarantine-history] tr[data-actor=admin]').waitFor();
    assert.match(await page.locator('[data-table=quarantine-history] tbody tr').first().innerText(), /admin\s+Denylisted → Valid\s+released by an operator/);
    await page.screenshot({ path: join(shots, 'quarantine-entry-released.png') });
    assert.equal((await e.api('GET', `/quarantine/entry?address=${encodeURIComponent(unsubscribed)}`)).body.status, 'valid');
    await page.keyboard.press('Escape');
    // The new-delivery form: tracking on, text links off, by default.
    await page.goto(`${e.app.url}/deliveries/new`);
    assert.equal(await page.getByRole('switch', { name: 'Track opens and clicks' }).isChecked(), true);
    assert.equal(await page.getByRole('switch', { name: 'Track links in the text part' }).isChecked(), false);

    // A stream's page: its window's figures, the list's shares, logs found by Message-ID,
    // SMTP credentials shown once, and a webhook's test event and attempts.
    await page.goto(`${e.app.url}/streams`);
    const streamRow = page.locator(`tr[data-stream="${stream.id}"]`);
    await streamRow.waitFor();
    assert.deepEqual(await Promise.all(['messages', 'delivered', 'bounced'].map((c) => streamRow.locator(`[data-col=${c}]`).innerText())), ['7', '71.43 %', '28.57 %']);
    assert.match(await streamRow.locator('[data-col=last]').innerText(), /ago$/);
    assert.match(await page.locator('tr[data-stream]', { hasText: 'password-resets' }).locator('[data-col=last]').innerText(), /^none yet$/);
    await page.goto(`${e.app.url}/streams/${stream.id}`);
    await page.locator('[data-kpi=messages] .kpi-value', { hasText: /^7$/ }).waitFor();
    assert.deepEqual(await Promise.all(['sent', 'failed', 'delivered'].map((k) => page.locator(`[data-kpi=${k}] .kpi-value`).innerText())), ['5', '2', '71.43 %']);
    assert.equal(await page.locator('[data-kpi=failed] .kpi-hint').innerText(), '28.57 % of messages; 2 hard, 0 soft');
    await page.locator('.barlist th', { hasText: 'User unknown' }).waitFor();
    await page.locator('button[data-window="7d"]').click();
    await page.waitForFunction(() => document.querySelector('button[data-window="7d"]')?.getAttribute('aria-pressed') === 'true' && /window=7d/.test(location.search));
    await page.getByText(/Messages per 2 hours that became Sent or Failed/).waitFor();
    await page.goto(`${e.app.url}/streams/${stream.id}/logs`);
    await page.getByTestId('logs-total').getByText('7 logs match').waitFor();
    await page.locator('input[name=messageId]').fill(streamMessageId);
    await page.getByRole('button', { name: 'Find' }).click();
    await page.locator('dialog[open]', { hasText: 'buyer.number.3@accept.test' }).waitFor();
    assert.match(page.url(), new RegExp(`/streams/${stream.id}/logs/\\d+`));
    await page.keyboard.press('Escape');
    await page.locator('input[name=messageId]').fill('<no.such.message@shop.example>');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.locator('.banner.error', { hasText: /Message-ID/ }).waitFor();
    await page.goto(`${e.app.url}/streams/${stream.id}/credentials`);
    await page.locator('button[data-action=create-credential]').click();
    await page.getByTestId('secret').waitFor();
    assert.ok((await page.getByTestId('secret').innerText()).length >= 16, 'the password is shown');
    await page.screenshot({ path: join(shots, 'stream-credential-created.png') });
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.waitForFunction(() => document.querySelectorAll('tr[data-credential]').length === 2);
    assert.equal(await page.getByTestId('secret').isVisible(), false, 'the password is shown once');
    await page.goto(`${e.app.url}/webhooks/${brokenHook.id}`);
    await page.locator('tr[data-webhook] [data-state=failing]').waitFor();
    await page.locator('button[data-action=test]').click();
    assert.match(await page.getByTestId('test-result').innerText(), /^The receiver refused the test event: HTTP 500 in [\d,]+ ms \(HTTP 500: upstream queue is full/);
    await page.goto(`${e.app.url}/webhooks/${hook.id}`);
    await page.locator('button[data-action=test]').click();
    assert.match(await page.getByTestId('test-result').innerText(), /^The receiver accepted the test event: 200 OK in [\d,]+ ms\.$/);
    await page.locator('tr[data-attempt]', { hasText: /\d+ events? \(#\d+/ }).first().waitFor();
    await page.getByRole('button', { name: 'Replay' }).click();
    await page.getByTestId('replay-result').getByText(/^The events of the last hour \(from event #\d+ on\) will be sent again, in order\.$/).waitFor();
    assert.match(await page.locator('tr[data-webhook]', { hasText: 'broken' }).innerText(), new RegExp(`Stream order-receipts`));
    // A new endpoint for the stream's bounces, from the dashboard: its secret shown once.
    await page.goto(`${e.app.url}/webhooks`);
    await page.locator('button[data-action=new-webhook]').click();
    await page.locator('dialog[open] input[name=url]').fill(`${hookBase}/hooks/new`);
    await page.locator('dialog[open] select[name=scope]').selectOption(String(stream.id));
    await page.locator('dialog[open] input[value=bounced]').check();
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.getByTestId('secret').waitFor();
    assert.ok((await page.getByTestId('secret').innerText()).length >= 20, 'the signing secret is shown');
    await page.screenshot({ path: join(shots, 'webhook-created.png') });
    await page.getByRole('button', { name: 'I have stored it' }).click();
    assert.match(await page.locator('tr[data-webhook]', { hasText: '/hooks/new' }).innerText(), /bounced\s+Stream order-receipts\s+Enabled/);
    assert.match(page.url(), /\/webhooks\/\d+$/);

    // The engine is live: its time stamp moves without a click, and it has no Refresh button.
    await page.goto(`${e.app.url}/engine`);
    await page.locator('[data-table=adaptations]').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Refresh' }).count(), 0);
    const headers = (await page.locator('main th').allInnerTexts()).join('|');
    assert.doesNotMatch(headers, /Warm Up|Helo|Sent Today|Cap Per/, headers);
    const stamp = await page.locator('.live').first().innerText();
    await page.waitForFunction((s) => document.querySelector('.live')?.textContent !== s, stamp, { timeout: 10_000 });
    await page.close();

    assert.deepEqual(errors, [], 'no script error');
    assert.deepEqual(notFound, [], 'no request the API does not know');
    t.diagnostic(`screenshots in ${shots}`);
  } catch (err) {
    for (const [i, p] of (browser?.contexts().flatMap((c) => c.pages()) ?? []).entries()) await p.screenshot({ path: join(shots, `failure-${i}.png`), fullPage: true }).catch(() => {});
    t.diagnostic(`failure screenshots in ${shots}`);
    throw err;
  } finally {
    await browser?.close();
    await e.stop();
    await Promise.all(sinks.map((s) => s.stop()));
    await stopHooks();
    await dns.stop();
  }
});
