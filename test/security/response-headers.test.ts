/**
 * Issue 11, finding 8 (headers), over real HTTP: every response (the dashboard's page and
 * files, API answers, errors, 404s, 401s, live streams) carries a Content Security Policy
 * that forbids framing, X-Frame-Options DENY, X-Content-Type-Options nosniff and
 * Referrer-Policy no-referrer; in Debian's Chromium the built dashboard signs in and renders
 * with that policy, and so does the API's documentation (Swagger UI) with its own, with no
 * policy violation reported.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { chromium, type Page } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web.ts';
import { startTestEstafeta, TEST_ADMIN_PASSWORD, type TestEstafeta } from '../helpers/estafeta.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync'];

let e: TestEstafeta;
before(async () => {
  // The dashboard must be built for its files to be served (a no-op when it is fresh).
  await buildWeb({ quiet: true });
  e = await startTestEstafeta();
});
after(async () => {
  await e.stop();
});

function checkHeaders(where: string, h: Headers, docs = false): void {
  const csp = h.get('content-security-policy') ?? '';
  assert.match(csp, /(^|; )default-src 'self'(;|$)/, `${where}: ${csp}`);
  assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/, `${where}: ${csp}`);
  assert.match(csp, /(^|; )script-src 'self'(;|$)/, `${where}: no inline script (${csp})`);
  if (!docs) assert.match(csp, /(^|; )style-src 'self'(;|$)/, `${where}: ${csp}`);
  assert.equal(h.get('x-frame-options'), 'DENY', where);
  assert.equal(h.get('x-content-type-options'), 'nosniff', where);
  assert.equal(h.get('referrer-policy'), 'no-referrer', where);
}

test('every kind of response carries the headers', async () => {
  const key = { authorization: `Bearer ${e.adminKey}` };
  const cases: [string, RequestInit & { url: string }][] = [
    ['the dashboard page', { url: '/' }],
    ['a dashboard URL served by the fallback', { url: '/deliveries/12/logs', headers: { accept: 'text/html' } }],
    ['a 404', { url: '/api/v1/nothing-here' }],
    ['a 401', { url: '/api/v1/deliveries' }],
    ['an API answer', { url: '/api/v1/deliveries', headers: key }],
    ['a 400', { url: '/api/v1/deliveries?limit=0', headers: key }],
    ['the OpenAPI document', { url: '/api/v1/openapi.json' }],
    ['the metrics', { url: '/metrics' }],
  ];
  const page = await (await fetch(`${e.app.url}/`)).text();
  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(page)?.[1];
  assert.ok(asset, 'the built page names its script');
  cases.push(['a built asset', { url: asset }]);
  for (const [where, { url, ...init }] of cases) {
    const res = await fetch(`${e.app.url}${url}`, init);
    await res.arrayBuffer();
    checkHeaders(`${where} (${res.status})`, res.headers);
  }
  const docs = await fetch(`${e.app.url}/api/docs/`);
  await docs.arrayBuffer();
  checkHeaders('the API documentation', docs.headers, true);
});

test('a live stream says nosniff and no-referrer too', async () => {
  const d = await e.api('POST', '/deliveries', { label: 'Headers', from: { address: 'news@shop.example' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}' });
  const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
    const req = http.get(`${e.app.url}/api/v1/deliveries/${d.body.id}/stream`, { headers: { authorization: `Bearer ${e.adminKey}` } }, (res) => {
      resolve(res.headers);
      req.destroy();
    });
    req.on('error', reject);
  });
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'no-referrer');
});

/** Console lines and securitypolicyviolation events that name the Content Security Policy. */
async function watchViolations(page: Page): Promise<string[]> {
  const seen: string[] = [];
  page.on('console', (m) => {
    if (/content security policy|refused to/i.test(m.text())) seen.push(`console: ${m.text()}`);
  });
  await page.exposeFunction('reportViolation', (v: string) => seen.push(`event: ${v}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (ev) => (window as unknown as { reportViolation(v: string): void }).reportViolation(`${ev.violatedDirective} ${ev.blockedURI}`));
  });
  return seen;
}

test('in Chromium the dashboard signs in and renders, and the API documentation renders, with no policy violation', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is missing`, timeout: 60_000 }, async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const page = await browser.newPage();
    const violations = await watchViolations(page);
    await page.goto(e.app.url!);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(TEST_ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    // The page's live stream connects (connect-src 'self').
    await page.waitForTimeout(1000);
    // Styles apply: the stylesheet loaded under style-src 'self'.
    const font = await page.evaluate(() => getComputedStyle(document.body).fontFamily);
    assert.notEqual(font, 'Times New Roman', 'the dashboard stylesheet is applied');
    // Every page of the dashboard, a delivery's tabs included (charts, live KPIs).
    const d = await e.api('POST', '/deliveries', { label: 'Pages', from: { address: 'news@shop.example' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', recipients: [{ email: 'a@x.test' }] });
    for (const path of ['/deliveries/new', `/deliveries/${d.body.id}`, `/deliveries/${d.body.id}/logs`, `/deliveries/${d.body.id}/audit`, '/quarantine', '/engine', '/admin']) {
      await page.goto(`${e.app.url}${path}`);
      await page.locator('h1, h2').first().waitFor();
      await page.waitForTimeout(400);
    }

    const docs = await browser.newPage();
    const docViolations = await watchViolations(docs);
    await docs.goto(`${e.app.url}/api/docs/`);
    await docs.locator('.swagger-ui .info .title').first().waitFor({ timeout: 20_000 });
    assert.match(await docs.locator('.swagger-ui .info .title').first().innerText(), /Estafeta API/);
    await docs.locator('.opblock').first().waitFor();
    await docs.waitForTimeout(500);
    assert.deepEqual(violations, [], 'the dashboard');
    assert.deepEqual(docViolations, [], 'the API documentation');
  } finally {
    await browser.close();
  }
});
