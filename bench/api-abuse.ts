/**
 * `npx tsx bench/api-abuse.ts [login|streams|body|deep|all]`: what a hostile client costs
 * the HTTP API (issue 11, findings 5 and 6), on a test Estafeta (SQLite, or PostgreSQL with
 * DATABASE_URL). login: wrong passwords sent 64 and 300 at a time, how many were checked and
 * when the first 429 came. streams: 300 live streams (KEYS=15 spreads them over 15 viewer
 * keys, under the per-principal cap), the CPU they cost and /health's time while open.
 * body: a 183 MB JSON body to /auth/login sent by curl, its answer and /health's worst time
 * meanwhile. deep: JSON bodies 100,000 levels deep to three routes.
 */
import http from 'node:http';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestEstafeta } from '../test/helpers/estafeta.ts';

const what = process.argv[2] ?? 'all';
const e = await startTestEstafeta();
const url = e.app.url;
const login = (name: string, password: string, ip?: string) => fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...(ip ? { 'x-forwarded-for': ip } : {}) }, body: JSON.stringify({ name, password }) });

async function burst(name: string, total: number, parallel: number) {
  const t0 = Date.now();
  let checked = 0, first429: number | null = null, n429 = 0, i = 0;
  async function worker() {
    while (i < total) {
      i++;
      const r = await login(name, 'wrong-password-x');
      await r.arrayBuffer();
      if (r.status === 429) { n429++; if (first429 === null) first429 = Date.now() - t0; }
      else if (first429 === null) checked++;
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker));
  return { total, parallel, checked: total - n429, answeredBeforeFirst429: checked, first429Ms: first429, n429, totalMs: Date.now() - t0 };
}

async function healthMs(n = 5) {
  const times: number[] = [];
  for (let k = 0; k < n; k++) { const t = performance.now(); await (await fetch(`${url}/api/v1/health`)).arrayBuffer(); times.push(performance.now() - t); await new Promise((r) => setTimeout(r, 200)); }
  times.sort((a, b) => a - b);
  return { medianMs: Math.round(times[Math.floor(n / 2)]), maxMs: Math.round(times[n - 1]) };
}

if (what === 'all' || what === 'login') {
  await e.api('POST', '/users', { name: 'victim1', password: 'the-right-password', role: 'viewer' });
  await e.api('POST', '/users', { name: 'victim2', password: 'the-right-password', role: 'viewer' });
  console.log('64 parallel, 1000 wrong:', await burst('victim1', 1000, 64));
  console.log('300 parallel, 300 wrong:', await burst('victim2', 300, 300));
}
if (what === 'all' || what === 'streams') {
  const d = await e.api('POST', '/deliveries', { label: 's', from: { address: 'news@shop.example' }, subject: 'Hi', html: '<p>' + 'x'.repeat(500_000) + '</p>', text: 'Hi {{ unsubscribeUrl }}', recipients: [{ email: 'a@x.test' }] });
  const ids = [d.body.id];
  for (let k = 0; k < 199; k++) ids.push((await e.api('POST', '/deliveries', { label: 's' + k, from: { address: 'news@shop.example' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}' })).body.id);
  const keys: string[] = [];
  for (let k = 0; k < Number(process.env.KEYS ?? 1); k++) keys.push((await e.api('POST', '/api-keys', { name: `viewer${k}`, role: 'viewer' })).body.key);
  console.log('health idle:', await healthMs());
  const statuses: Record<number, number> = {};
  const reqs: http.ClientRequest[] = [];
  await Promise.all(Array.from({ length: 300 }, (_, k) => new Promise<void>((resolve) => {
    const path = k % 2 ? `/api/v1/deliveries/${d.body.id}/stream` : `/api/v1/stream?deliveries=${ids.join(',')}`;
    const req = http.get(`${url}${path}`, { headers: { authorization: `Bearer ${keys[k % keys.length]}` } }, (res) => { statuses[res.statusCode!] = (statuses[res.statusCode!] ?? 0) + 1; res.resume(); resolve(); });
    req.on('error', () => resolve());
    reqs.push(req);
  })));
  await new Promise((r) => setTimeout(r, 1500));
  const c0 = process.cpuUsage(); const w0 = Date.now();
  await new Promise((r) => setTimeout(r, 5000));
  const c1 = process.cpuUsage(c0);
  console.log('cpu ms per s with streams open:', Math.round((c1.user + c1.system) / 1000 / ((Date.now() - w0) / 1000)));
  console.log('stream statuses:', statuses, 'health with 300 streams:', await healthMs(7));
  for (const r of reqs) r.destroy();
}
if (what === 'all' || what === 'deep') {
  const depth = 100_000;
  const deep = `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  let t = Date.now();
  let r = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: deep });
  console.log('deep login:', r.status, (await r.text()).slice(0, 200), Date.now() - t, 'ms');
  const recipients = `{"label":"d","from":{"address":"news@shop.example"},"subject":"Hi","text":"Hi","recipients":[{"email":"a@x.test","x":${'['.repeat(depth)}${']'.repeat(depth)}}]}`;
  t = Date.now();
  r = await fetch(`${url}/api/v1/deliveries`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${e.adminKey}` }, body: recipients });
  console.log('deep deliveries:', r.status, (await r.text()).slice(0, 300), Date.now() - t, 'ms');
  t = Date.now();
  r = await fetch(`${url}/api/v1/deliveries/1/recipients`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${e.adminKey}` }, body: `[{"email":"a@x.test","x":${'['.repeat(depth)}${']'.repeat(depth)}}]` });
  console.log('deep recipients PUT:', r.status, (await r.text()).slice(0, 300), Date.now() - t, 'ms');
  console.log('health after:', await healthMs(3));
}
if (what === 'all' || what === 'body') {
  const file = join(mkdtempSync(join(tmpdir(), 'estafeta-big-')), 'big.json');
  const ws = createWriteStream(file);
  ws.write('{"name":"admin","password":"x","pad":"');
  const chunk = 'a'.repeat(1000 * 1000);
  for (let k = 0; k < 183; k++) if (!ws.write(chunk)) await new Promise<void>((r) => ws.once('drain', () => r()));
  await new Promise<void>((r) => ws.end('"}', () => r()));
  const { spawn } = await import('node:child_process');
  const t0 = Date.now();
  const curl = spawn('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', '-H', 'content-type: application/json', '--data-binary', `@${file}`, `${url}/api/v1/auth/login`]);
  let out = ''; curl.stdout.on('data', (c) => (out += c));
  const done = new Promise((r) => curl.on('close', r));
  let worst = 0, finished = false; void done.then(() => (finished = true));
  while (!finished) { const t = performance.now(); await (await fetch(`${url}/api/v1/health`)).arrayBuffer(); worst = Math.max(worst, performance.now() - t); await new Promise((r) => setTimeout(r, 20)); }
  rmSync(file);
  console.log('183 MB login via curl (status, seconds):', out, 'worst /health during it:', Math.round(worst), 'ms; wall', Date.now() - t0, 'ms');
}
await e.stop();
