/**
 * The `estafeta` command as an operator uses it against a running Estafeta: create a delivery
 * from files (a broken CSV creates nothing), analyze with a readable report, confirm, follow
 * the KPIs as JSON, read the logs; the engine's adaptations, the quarantine and the bounce
 * qualification table; clear errors for unknown ids; opens, clicks and unsubscriptions made
 * on the received messages, read back as KPIs, links, histories and the quarantine's trail;
 * webhook endpoints against a real receiver; and message streams: create, list with their window,
 * KPIs over a window, logs (by Message-ID too), settings, SMTP credentials shown once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import PostalMime from 'postal-mime';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimDns, type SimDns } from '../src/sim/dns-server.ts';
import { freePort, startSink, type Sink } from './helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor, type TestEstafeta } from './helpers/estafeta.ts';

let dns: SimDns;
let sink: Sink;
let e: TestEstafeta;
const dir = mkdtempSync(join(tmpdir(), 'estafeta-cli-'));

before(async () => {
  const ip = '127.0.3.61';
  const port = await freePort([ip]);
  dns = await startSimDns({ port: 0, records: [{ name: 'cli.test', type: 'MX', exchange: 'mx.cli.test', priority: 5 }, { name: 'mx.cli.test', type: 'A', address: ip }] });
  // gone@ is unknown; later@ is always greylisted, so its log waits for a retry.
  sink = await startSink(ip, port, (rcpt) => (rcpt.startsWith('gone') ? { code: 550, text: '5.1.1 user unknown' } : rcpt.startsWith('later') ? { code: 451, text: '4.7.1 greylisted, try again later' } : null));
  e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port } });
});

after(async () => {
  await e.stop();
  await sink.stop();
  await dns.stop();
});

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/estafeta.js', '--api', e.app.url!, '--api-key', e.adminKey, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('create, analyze, confirm and follow a delivery from the command line', { timeout: 90_000 }, async () => {
  writeFileSync(join(dir, 'mail.html'), '<p>Hi {{ firstName }} <a href="{{ unsubscribeUrl }}">unsubscribe</a></p>');
  writeFileSync(join(dir, 'ok.csv'), 'email,firstName\nana@cli.test,Ana\nbob@cli.test,Bob\ngone@cli.test,Gone\n');
  writeFileSync(join(dir, 'broken.csv'), 'email,firstName\nana@cli.test,Ana,extra\n');

  const broken = await cli('deliveries', 'create', '--from', 'news@shop.test', '--subject', 'Hi {{ firstName }}', '--html', join(dir, 'mail.html'), '--recipients', join(dir, 'broken.csv'));
  assert.notEqual(broken.code, 0);
  assert.match(broken.stderr, /estafeta: the CSV has 1 broken row\(s\); nothing was imported:\n  row 2: 3 fields where the header has 2/);
  assert.equal((await e.api('GET', '/deliveries')).body.deliveries.length, 0, 'a broken file creates nothing');

  const created = await cli('deliveries', 'create', '--from', 'news@shop.test', '--from-name', 'Shop', '--subject', 'Hi {{ firstName }}', '--html', join(dir, 'mail.html'), '--recipients', join(dir, 'ok.csv'), '--json');
  assert.equal(created.code, 0, created.stderr);
  const id = JSON.parse(created.stdout).id;

  const analyzed = await cli('deliveries', 'analyze', String(id));
  assert.equal(analyzed.code, 0, analyzed.stderr);
  assert.match(analyzed.stdout, /3 targeted, 3 to deliver, 0 excluded; 0 errors, \d+ warnings?/);

  const confirmed = await cli('deliveries', 'confirm', String(id));
  assert.match(confirmed.stdout, new RegExp(`delivery ${id}: Start pending`));
  await waitFor('the delivery to finish', async () => ((await e.api('GET', `/deliveries/${id}`)).body.state === 'finished' ? true : null));

  const kpis = JSON.parse((await cli('deliveries', 'kpis', String(id), '--json')).stdout);
  assert.equal(kpis.sent, 2);
  assert.equal(kpis.failed, 1);

  // For people: words and aligned tables, not keys and JSON.
  const table = (await cli('deliveries', 'kpis', String(id))).stdout;
  assert.match(table, /Sent\s+│?\s*2\s+│?\s*66\.7 %/);
  assert.match(table, /Failed\s+│?\s*1\s+│?\s*33\.3 %/);
  assert.match(table, /Failures by reason\n[\s\S]*User unknown\s+│?\s*1\s+│?\s*100 %/);
  assert.doesNotMatch(table, /failuresByReason|successPercent|[{}]/);
  const list = (await cli('deliveries', 'list')).stdout;
  assert.match(list, /to deliver\s+│?\s*sent\s+│?\s*failed\s+│?\s*success/);
  assert.match(list, new RegExp(`${id}\\s+│?.*Finished\\s+│?\\s*3\\s+│?\\s*2\\s+│?\\s*1\\s+│?\\s*66\\.7 %`));
  const shown = (await cli('deliveries', 'show', String(id))).stdout;
  assert.match(shown, /Recipients\s+3\n/);
  assert.match((await cli('deliveries', 'logs', String(id), '--domain', 'cli.test', '--status', 'failed')).stdout, /gone@cli\.test\s+│?\s*Failed\s+│?\s*Hard · User unknown/);
  assert.match((await cli('deliveries', 'logs', String(id), '--domain', 'elsewhere.test')).stdout, /no logs match/);
  const failed = JSON.parse((await cli('deliveries', 'logs', String(id), '--status', 'failed', '--json')).stdout);
  assert.deepEqual(failed.logs.map((l: { address: string; failureReason: string }) => [l.address, l.failureReason]), [['gone@cli.test', 'User unknown']]);

  // A Message-ID (from a complaint, a recipient, a receiving MTA's log) finds its log.
  const mail = sink.received.find((m) => m.to[0] === 'ana@cli.test')!;
  const messageId = /^Message-ID: (.+)$/im.exec(mail.raw.toString())![1].trim();
  const found = JSON.parse((await cli('deliveries', 'log', messageId, '--json')).stdout);
  assert.deepEqual([found.address, found.status, found.messageId, found.deliveryId], ['ana@cli.test', 'sent', messageId, id]);
  assert.match((await cli('deliveries', 'log', messageId)).stdout, /Message-ID\s+<\d+\./);
  const forged = await cli('deliveries', 'log', messageId.replace(/\.([0-9a-z]{8})@/, (_m, h: string) => `.${h[0] === 'a' ? 'b' : 'a'}${h.slice(1)}@`));
  assert.equal(forged.code, 4);
  assert.match(forged.stderr, /a message of this instance with Message-ID <.+> not found/);

  const again = await cli('deliveries', 'pause', String(id));
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /cannot pause a delivery that is "Finished"/);
  const missing = await cli('deliveries', 'show', '999999');
  assert.equal(missing.code, 4);
  assert.match(missing.stderr, /delivery 999999 not found/);
});

test('the engine, the quarantine and the qualification table from the command line', { timeout: 60_000 }, async () => {
  const suspended = await cli('mta', 'suspend', 'mx.cli.test', '--for', '10m', '--reason', 'maintenance');
  assert.match(suspended.stdout, /adaptation \d+: suspend mx\.cli\.test for 10m/);
  const list = JSON.parse((await cli('mta', 'adaptations', '--json')).stdout);
  assert.equal(list.length, 1);
  assert.equal(list[0].reason, 'maintenance');
  assert.match((await cli('mta', 'cancel', String(list[0].id))).stdout, /cancelled/);
  assert.equal(JSON.parse((await cli('mta', 'adaptations', '--json')).stdout).length, 0);
  assert.match((await cli('mta', 'rules')).stdout, /default/);

  const q = JSON.parse((await cli('quarantine', 'list', '--status', 'quarantine', '--json')).stdout);
  assert.deepEqual(q.entries.map((x: { address: string }) => x.address), ['gone@cli.test']);
  assert.match((await cli('quarantine', 'release', 'gone@cli.test')).stdout, /gone@cli\.test: Valid/);
  assert.match((await cli('quarantine', 'release-bulk', '--domain', 'cli.test', '--from', '2020-01-01T00:00:00Z', '--to', '2030-01-01T00:00:00Z', '--dry-run')).stdout, /0 addresses would be released/);

  const entries = JSON.parse((await cli('bounces', 'qualifications', '--json')).stdout);
  const entry = entries.find((x: { firstText: string }) => /user unknown/i.test(x.firstText));
  assert.ok(entry, JSON.stringify(entries));
  const requalified = await cli('bounces', 'requalify', entry.key, '--type', 'Soft', '--reason', 'Refused', '--ignore');
  assert.match(requalified.stdout, /Soft, Refused \(ignore\)/);
});

test('short commands run compiled and load neither the server nor the database', { timeout: 60_000 }, async () => {
  const run = (...args: string[]) => new Promise<{ stderr: string; ms: number }>((resolve) => {
    const began = Date.now();
    execFile(process.execPath, ['--require', './test/helpers/report-packages.cjs', 'bin/estafeta.js', ...args], { timeout: 30_000 }, (_err, _stdout, stderr) => resolve({ stderr, ms: Date.now() - began }));
  });
  await run('--version'); // builds dist/cli/ if the sources changed
  for (const args of [['--help'], ['--api', e.app.url!, '--api-key', e.adminKey, 'deliveries', 'list'], ['quarantine', 'list', '--help']]) {
    const r = await run(...args);
    const loaded = /loaded packages: (.*)/.exec(r.stderr)?.[1].split(' ') ?? [];
    assert.ok(loaded.includes('commander'), r.stderr);
    for (const heavy of ['fastify', 'pino', 'better-sqlite3', 'pg', 'kysely', 'tsx', 'smtp-server', 'nodemailer']) assert.ok(!loaded.includes(heavy), `estafeta ${args.join(' ')} loaded ${heavy}: ${loaded.join(' ')}`);
    process.stdout.write(`# estafeta ${args.at(-1) === 'list' ? 'deliveries list' : args.join(' ')}: ${r.ms} ms\n`);
  }
});

test('wrong values are refused in words, by the CLI and by the API', { timeout: 60_000 }, async () => {
  const show = await cli('deliveries', 'show', 'abc');
  assert.equal(show.code, 1);
  assert.equal(show.stderr, 'estafeta: a delivery id is a number: "abc" is not one\n');
  assert.match((await cli('deliveries', 'log', '12x')).stderr, /^estafeta: a log id is a number/);
  assert.match((await cli('dkim', 'show', 'first')).stderr, /^estafeta: a DKIM key id is a number/);

  writeFileSync(join(dir, 'words.html'), '<p>Hi</p>');
  const noSubject = await cli('deliveries', 'create', '--from', 'news@shop.test', '--html', join(dir, 'words.html'));
  assert.equal(noSubject.code, 1);
  assert.equal(noSubject.stderr, 'estafeta: --subject is required (or a --file with "subject")\n');
  const noContent = await cli('deliveries', 'create', '--from', 'news@shop.test', '--subject', 'Hi');
  assert.match(noContent.stderr, /^estafeta: give the content with --html FILE, --text FILE, or both/);
  assert.match((await cli('deliveries', 'list', '--limit', 'ten')).stderr, /^estafeta: --limit is a whole number from 1 to 1,000: "ten" is not one/);

  // The API says the same in words to any client (the dashboard, curl, a script).
  const api = await e.api('POST', '/deliveries', { from: { address: 'news@shop.test' }, html: '<p>Hi</p>' });
  assert.equal(api.status, 400);
  assert.equal(api.body.error.message, 'subject is required');
  const limit = await e.api('GET', '/deliveries?limit=0');
  assert.equal(limit.body.error.message, 'the query parameter limit must be at least 1');
  const id = await e.api('GET', '/deliveries/abc');
  assert.equal(id.status, 400);
  assert.doesNotMatch(id.body.error.message, /Invalid input|expected|received/);
});

test('a log waiting for a retry says when; kpis --watch says what the delivery waits for', { timeout: 90_000 }, async () => {
  writeFileSync(join(dir, 'one.csv'), 'email\nlater@cli.test\n');
  writeFileSync(join(dir, 'one.html'), '<p>Hi <a href="{{ unsubscribeUrl }}">unsubscribe</a></p>');
  const created = await cli('deliveries', 'create', '--from', 'news@shop.test', '--subject', 'Later', '--html', join(dir, 'one.html'), '--recipients', join(dir, 'one.csv'), '--validity', '2h');
  assert.match(created.stdout, /^created delivery (\d+) "Later" with 1 recipient\n$/, created.stderr);
  const id = Number(/delivery (\d+)/.exec(created.stdout)![1]);
  await cli('deliveries', 'analyze', String(id));
  await cli('deliveries', 'confirm', String(id));
  const logId = await waitFor('a deferral', async () => {
    const logs = (await e.api('GET', `/deliveries/${id}/logs`)).body.logs;
    return logs[0]?.attempts >= 1 ? (logs[0].id as number) : null;
  });
  const log = await cli('deliveries', 'log', String(logId));
  assert.match(log.stdout, /Next attempt\s+\d\d:\d\d \((in|less than)/, log.stdout);
  assert.match(log.stdout, /Deferred: Soft · [A-Z][a-z]+/);
  assert.match(log.stdout, /451 4\.7\.1 greylisted/);

  // --watch never ends here (the address is greylisted for good): read what it says, then stop it.
  const watch = execFile(process.execPath, ['bin/estafeta.js', '--api', e.app.url!, '--api-key', e.adminKey, 'deliveries', 'kpis', String(id), '--watch']);
  let said = '';
  watch.stderr!.on('data', (d) => (said += d));
  await waitFor('the watch to say what it waits for', async () => (/wait/.test(said) ? true : null), 20_000, 250);
  watch.kill();
  assert.match(said, /1 message waits for a retry; the next at \d\d:\d\d; the validity ends \d\d:\d\d|1 message waits for a retry; the next at \d\d:\d\d; the validity ends [A-Z][a-z]{2} \d\d:\d\d/, said);
  await cli('deliveries', 'stop', String(id));
});

/** A table row's cells, in order, whatever the borders (and empty cells) between them. */
const row = (...cells: string[]) => new RegExp(cells.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[ │]*'));

test('opens, clicks and unsubscriptions made on the received messages, read from the command line', { timeout: 90_000 }, async () => {
  writeFileSync(join(dir, 'tracked.html'), '<html><body><p>Hi</p><p><a href="https://shop.example/sale">The sale</a></p><p><a href="{{ unsubscribeUrl }}">unsubscribe</a></p></body></html>');
  writeFileSync(join(dir, 'tracked.txt'), 'Hi\nThe sale: https://shop.example/sale\nUnsubscribe: {{ unsubscribeUrl }}\n');
  writeFileSync(join(dir, 'tracked.csv'), 'email\nreader@cli.test\nscanned@cli.test\nquits@cli.test\n');
  const created = await cli('deliveries', 'create', '--from', 'news@shop.test', '--subject', 'Tracked', '--html', join(dir, 'tracked.html'), '--text', join(dir, 'tracked.txt'), '--recipients', join(dir, 'tracked.csv'), '--track-text-links', '--json');
  assert.equal(created.code, 0, created.stderr);
  const id = JSON.parse(created.stdout).id as number;
  assert.match((await cli('deliveries', 'show', String(id))).stdout, /Tracking\s+opens and clicks \(HTML and text links\)/);

  // Tracking off, then on again: each flag changes one field, and an absent one keeps it.
  const off = await cli('deliveries', 'update', String(id), '--no-tracking');
  assert.match(off.stdout, new RegExp(`^delivery ${id} "Tracked" updated \\(tracking: off`), off.stderr);
  assert.equal((await e.api('GET', `/deliveries/${id}`)).body.tracking, false);
  const on = JSON.parse((await cli('deliveries', 'update', String(id), '--tracking', '--json')).stdout);
  assert.deepEqual([on.tracking, on.trackTextLinks], [true, true]);
  assert.match((await cli('deliveries', 'update', String(id))).stderr, /^estafeta: nothing to change/);

  await cli('deliveries', 'analyze', String(id));
  assert.match((await cli('deliveries', 'confirm', String(id))).stdout, /Start pending/);
  await waitFor('the tracked delivery to finish', async () => ((await e.api('GET', `/deliveries/${id}`)).body.state === 'finished' ? true : null));

  const received = async (who: string) => {
    const m = await PostalMime.parse(sink.received.filter((x) => x.to[0] === `${who}@cli.test`).at(-1)!.raw);
    return { html: m.html ?? '', text: m.text ?? '', unsubscribe: /<(http[^>]+)>/.exec(m.headers.find((h) => h.key === 'list-unsubscribe')!.value)![1] };
  };
  const pixel = (html: string) => /<img src="([^"]+\/t\/o\/[^"]+)"/.exec(html)![1];
  const click = (html: string) => /href="([^"]+\/t\/c\/[^"]+)"/.exec(html)![1];
  const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36' };
  const reader = await received('reader');
  assert.match(reader.text, /\/t\/c\//, '--track-text-links tracks the text part\'s link');
  // A person opens, then clicks; a script fetches the pixel and follows the link; one recipient unsubscribes in one click.
  await fetch(pixel(reader.html), { headers: browser });
  await fetch(click(reader.html), { headers: browser, redirect: 'manual' });
  const scanned = await received('scanned');
  await fetch(pixel(scanned.html), { headers: { 'user-agent': 'curl/8.5.0' } });
  await fetch(click(scanned.html), { headers: { 'user-agent': 'python-requests/2.31' }, redirect: 'manual' });
  const quits = await received('quits');
  assert.equal((await fetch(quits.unsubscribe, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status, 200);
  await waitFor('the opens, clicks and unsubscription counted', async () => {
    const k = (await e.api('GET', `/deliveries/${id}/kpis`)).body;
    return k.opens + k.machineOpens >= 2 && k.clicks + k.machineClicks >= 2 && k.unsubscribes >= 1 ? true : null;
  }, 20_000);

  const kpis = JSON.parse((await cli('deliveries', 'kpis', String(id), '--json')).stdout);
  assert.deepEqual(
    [kpis.sent, kpis.uniqueOpens, kpis.opens, kpis.machineOpens, kpis.uniqueClicks, kpis.clicks, kpis.machineClicks, kpis.unsubscribes, kpis.clickToOpenPercent],
    [3, 1, 1, 1, 1, 1, 1, 1, 100],
  );
  const table = (await cli('deliveries', 'kpis', String(id))).stdout;
  assert.match(table, /\nEngagement\n/);
  assert.match(table, row('Opened, by people (unique)', '1', '33.3 %'));
  assert.match(table, row('Clicked, by people (unique)', '1', '33.3 %'));
  assert.match(table, row('click-to-open (unique clicks of unique opens)', '100 %'));
  assert.match(table, row('Unsubscriptions', '1', '33.3 %'));
  assert.match(table, row('Complaints', '0', '0 %'));
  assert.match(table, row('Machine opens (privacy proxies, prefetches; not in the rates)', '1'));
  assert.match(table, row('Machine clicks (link scanners; not in the rates)', '1'));
  assert.doesNotMatch(table, /uniqueOpens|openRatePercent|[{}]/);

  const links = (await cli('deliveries', 'links', String(id))).stdout;
  assert.match(links, row('The sale', 'https://shop.example/sale', 'HTML', '1', '1', '100 %'));
  assert.match(links, row('https://shop.example/sale', 'text', '0', '0', '0 %'));
  assert.match(links, /1 recipient clicked at least one link/);
  const report = JSON.parse((await cli('deliveries', 'links', String(id), '--json')).stdout);
  assert.deepEqual(report.links.map((l: { part: string; clicks: number }) => [l.part, l.clicks]), [['html', 1], ['text', 0]]);

  const logs = (await e.api('GET', `/deliveries/${id}/logs`)).body.logs as { id: number; address: string }[];
  const history = async (who: string) => (await cli('deliveries', 'log', String(logs.find((l) => l.address === `${who}@cli.test`)!.id))).stdout;
  const readerLog = await history('reader');
  assert.match(readerLog, /Opened\s/);
  assert.match(readerLog, /Clicked "The sale" https:\/\/shop\.example\/sale\s/);
  assert.doesNotMatch(readerLog, /machine/);
  const scannedLog = await history('scanned');
  assert.match(scannedLog, /Opened \(machine: Scripted HTTP client\)/);
  assert.match(scannedLog, /Clicked "The sale" https:\/\/shop\.example\/sale \(machine: Scripted HTTP client\)/);
  assert.match(await history('quits'), /Unsubscribed with one click from the mail program \(RFC 8058\)/);

  // The quarantine: who unsubscribed, then who released.
  const unsubscribed = (await cli('quarantine', 'unsubscribed')).stdout;
  assert.match(unsubscribed, row('quits@cli.test'));
  assert.match(unsubscribed, /with one click/);
  assert.match(unsubscribed, /1 address;/);
  assert.deepEqual(JSON.parse((await cli('quarantine', 'unsubscribed', '--json')).stdout).map((x: { address: string }) => x.address), ['quits@cli.test']);
  await cli('quarantine', 'add', 'blocked@cli.test', '--denylist');
  assert.doesNotMatch((await cli('quarantine', 'unsubscribed')).stdout, /blocked@/, 'an address an operator denylisted did not unsubscribe');
  const shown = (await cli('quarantine', 'show', 'quits@cli.test')).stdout;
  assert.match(shown, /Status\s+Denylisted/);
  assert.match(shown, /The recipient unsubscribed: release only if they asked/);
  assert.match(shown, row('recipient', 'new → Denylisted', 'unsubscribed with one click'));
  const released = (await cli('quarantine', 'release', 'quits@cli.test')).stdout;
  assert.match(released, /^quits@cli\.test: Valid \(was Denylisted\)\nThe recipient had unsubscribed: they will be mailed again\.\nThe trail records the release by test-admin \(API key\)/);
  const after = (await cli('quarantine', 'show', 'quits@cli.test')).stdout;
  assert.match(after, /Status\s+Valid\n/);
  assert.doesNotMatch(after, /Denylisted address|release only if/, 'a released address shows no old reason');
  assert.match(after, row('test-admin (API key)', 'Denylisted → Valid', 'released'));
  const trail = JSON.parse((await cli('quarantine', 'show', 'quits@cli.test', '--json')).stdout);
  assert.deepEqual(trail.history.map((h: { actor: string; action: string }) => [h.actor, h.action]), [['recipient', 'new → Denylisted'], ['test-admin (API key)', 'Denylisted → Valid']]);
  assert.equal((await cli('quarantine', 'show', 'nobody@cli.test')).code, 4);
});

test('webhook endpoints from the command line, against a real receiver', { timeout: 60_000 }, async (t) => {
  const posts: { path: string; signature: string; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', signature: String(req.headers['estafeta-signature'] ?? ''), body });
      if (req.url === '/broken') res.writeHead(500).end('broken on purpose');
      else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  // A message delivered before any endpoint exists: only a replay sends its event. (This
  // test makes its own, so it does not depend on what earlier tests in the file delivered.)
  const earlier = (await e.api('POST', '/streams', { name: 'before-the-webhook', fromDomains: ['shop.test'] })).body;
  const [earlierLog] = (await e.api('POST', '/messages', { stream: earlier.id, from: 'news@shop.test', to: ['ana@cli.test'], subject: 'Before', text: 'x' })).body.logIds;
  await waitFor('the message delivered', async () => (await e.api('GET', `/logs/${earlierLog}`)).body.status === 'sent');

  const typo = await cli('webhooks', 'create', '--url', `${base}/ok`, '--events', 'delivered,bounce');
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /^estafeta: unknown event type "bounce"; the types are delivered, deferred, bounced/);

  const created = await cli('webhooks', 'create', '--url', `${base}/ok`, '--events', 'delivered,bounced');
  assert.equal(created.code, 0, created.stderr);
  const [, id, secret] = /^created webhook (\d+): http:\/\/127\.0\.0\.1:\d+\/ok \(delivered, bounced\)\nsigning secret: (\S+)\n$/.exec(created.stdout) ?? [];
  assert.ok(secret, created.stdout);
  assert.match(created.stderr, /Store this secret now: it is shown only once/);

  const listed = JSON.parse((await cli('webhooks', 'list', '--json')).stdout);
  assert.deepEqual(listed.map((w: { id: number; eventTypes: string[] }) => [w.id, w.eventTypes]), [[Number(id), ['delivered', 'bounced']]]);
  assert.ok(!JSON.stringify(listed).includes(secret), 'the secret is never listed');
  assert.match((await cli('webhooks', 'list')).stdout, row(id, `${base}/ok`, 'delivered, bounced', 'all', 'enabled'));

  // The test event is signed with the secret printed at creation.
  const tested = await cli('webhooks', 'test', id);
  assert.match(tested.stdout, new RegExp(`^webhook ${id}: the receiver accepted the test event: 200 ok in \\d+ ms\\n$`), tested.stderr);
  const post = posts.find((p) => p.path === '/ok')!;
  const [, ts, sig] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(post.signature)!;
  assert.equal(sig, createHmac('sha256', secret).update(`${ts}.${post.body}`).digest('hex'));

  const broken = JSON.parse((await cli('webhooks', 'create', '--url', `${base}/broken`, '--delivery', '1', '--json')).stdout);
  assert.ok(broken.secret);
  const refused = await cli('webhooks', 'test', String(broken.id));
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, /the receiver refused the test event: HTTP 500: broken on purpose in \d+ ms\n$/);
  const shown = (await cli('webhooks', 'show', String(broken.id))).stdout;
  assert.match(shown, /Delivery\s+1\n/);
  assert.match(shown, /Recent attempts \(1 attempt, newest first\)/);
  assert.match(shown, row('test', '500', ''));
  assert.match(shown, /\d+ ms\s*│?\s*.*broken on purpose/);
  const detail = JSON.parse((await cli('webhooks', 'show', String(broken.id), '--json')).stdout);
  assert.deepEqual(detail.attempts.map((a: { attempt: number; statusCode: number }) => [a.attempt, a.statusCode]), [[0, 500]]);

  // Replay: the receiver gets the events that happened before the endpoint existed, in order.
  assert.match((await cli('webhooks', 'replay', id, '--from', 'yesterday')).stderr, /^estafeta: --from is a time/);
  const replayed = await cli('webhooks', 'replay', id, '--from', '2020-01-01T00:00:00Z');
  assert.match(replayed.stdout, new RegExp(`^webhook ${id}: events from \\d+ on \\(since 2020-01-01 \\d\\d:\\d\\d\\) will be sent again, in order\\n$`), replayed.stderr);
  const sent = await waitFor('the replayed events', async () => {
    const events = posts.filter((p) => p.path === '/ok').flatMap((p) => (JSON.parse(p.body).events as { id: number; type: string; logId: number | null }[]).filter((x) => x.type !== 'test'));
    return events.some((x) => x.logId === earlierLog) ? events : null;
  }, 20_000);
  assert.ok(sent.some((x) => x.id <= listed[0].cursor && x.type === 'delivered'), 'an event from before the endpoint was created is sent again');
  assert.ok(sent.every((x) => x.type === 'delivered' || x.type === 'bounced'), JSON.stringify(sent.map((x) => x.type)));
  assert.deepEqual(sent.map((x) => x.id), [...sent.map((x) => x.id)].sort((a, b) => a - b));
  assert.match((await cli('webhooks', 'show', id)).stdout, /Last event sent\s+\d+/);

  assert.match((await cli('webhooks', 'enable', id)).stdout, new RegExp(`^webhook ${id}: enabled; it resumes after event \\d+`));
  assert.equal((await cli('webhooks', 'delete', String(broken.id))).stdout, `webhook ${broken.id} deleted\n`);
  const gone = await cli('webhooks', 'show', String(broken.id));
  assert.equal(gone.code, 4);
  assert.match((await cli('webhooks', 'show', 'first')).stderr, /^estafeta: a webhook id is a number/);
});

test('message streams from the command line: figures over a window, logs, settings, SMTP credentials', { timeout: 90_000 }, async () => {
  const created = await cli('streams', 'create', '--name', 'receipts', '--from-domain', 'shop.test', '--validity', '2h');
  assert.equal(created.code, 0, created.stderr);
  const [, id] = /^created stream (\d+) "receipts": In progress, from shop\.test\n$/.exec(created.stdout) ?? [];
  assert.ok(id, created.stdout);
  assert.match((await cli('streams', 'create', '--name', 'x', '--from-domain', 'shop.test', '--tracking', 'maybe')).stderr, /^estafeta: --tracking is on or off: "maybe" is neither/);
  const logIds: number[] = [];
  for (const to of ['ana.stream@cli.test', 'bob.stream@cli.test', 'gone.stream@cli.test']) logIds.push(...(await e.api('POST', '/messages', { stream: 'receipts', from: 'orders@shop.test', to: [to], subject: 'Receipt', text: 'Paid' })).body.logIds);
  await waitFor('the outcomes', async () => {
    const k = (await e.api('GET', `/streams/${id}/report?since=1h`)).body.kpis;
    return k.sent === 2 && k.failed === 1;
  });

  // For people: words and aligned tables; the window is said.
  const list = await cli('streams', 'list');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, row(id, 'receipts', 'In progress', 'shop.test', '3', '66.7 %', '33.3 %'));
  assert.match(list.stdout, /figures over the last 24h \(since \d{4}-\d\d-\d\d \d\d:\d\d\)\n$/);
  const kpis = await cli('streams', 'kpis', 'receipts', '--window', '1h');
  assert.equal(kpis.code, 0, kpis.stderr);
  assert.match(kpis.stdout, new RegExp(`^stream ${id}, messages written over the last 1h`));
  assert.match(kpis.stdout, row('Delivered', '2', '66.7 %'));
  assert.match(kpis.stdout, row('Bounced', '1', '33.3 %'));
  // (Its type is the qualification table's: an earlier test of this file edits the table.)
  assert.match(kpis.stdout, row('User unknown', '1', '100 %'));
  assert.match(kpis.stdout, /last message: \d{4}-\d\d-\d\d \d\d:\d\d \((less than a minute|\d+ min) ago\)/);
  const json = JSON.parse((await cli('streams', 'kpis', id, '--window', '1h', '--json')).stdout);
  assert.deepEqual([json.kpis.messages, json.kpis.sent, json.kpis.failed], [3, 2, 1]);
  assert.match((await cli('streams', 'kpis', id, '--window', 'forever')).stderr, /^estafeta: since: /);

  const logs = await cli('streams', 'logs', 'receipts', '--status', 'failed');
  assert.match(logs.stdout, /gone\.stream@cli\.test[ │]*Failed[ │]*\w+ · User unknown/);
  assert.match(logs.stdout, /1 log\n$/);
  const messageId = (await e.api('GET', `/logs/${logIds[0]}`)).body.messageId;
  const one = await cli('streams', 'logs', 'receipts', '--message-id', messageId);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /ana\.stream@cli\.test/);
  assert.match(one.stdout, /Delivered/);
  assert.equal((await cli('streams', 'logs', 'nosuch')).code, 4);

  const updated = await cli('streams', 'update', 'receipts', '--tracking', 'off', '--from-domain', 'shop.test,mail.shop.test', '--validity', '1d');
  assert.equal(updated.code, 0, updated.stderr);
  assert.match(updated.stdout, /^stream \d+ "receipts" updated; messages sent from now on follow these settings\n/);
  assert.match(updated.stdout, /From domains\s+shop\.test, mail\.shop\.test\n/);
  assert.match(updated.stdout, /Validity\s+1 day\n/);
  assert.match(updated.stdout, /Tracking\s+opens and clicks not tracked\n/);
  assert.match((await cli('streams', 'update', 'receipts')).stderr, /^estafeta: nothing to change/);
  assert.equal(JSON.parse((await cli('streams', 'show', id, '--json')).stdout).tracking, false);

  // SMTP credentials: the password once, never listed; revoked, they are gone.
  const made = await cli('streams', 'credentials', 'create', 'receipts');
  assert.equal(made.code, 0, made.stderr);
  const [, credId, user, password] = /^created SMTP credentials (\d+) for stream \d+\nuser name: (\S+)\npassword: +(\S+)\n$/.exec(made.stdout) ?? [];
  assert.ok(password, made.stdout);
  assert.match(made.stderr, /Store this password now: it is shown only once/);
  const listed = await cli('streams', 'credentials', 'list', 'receipts');
  assert.match(listed.stdout, row(credId, user));
  assert.ok(!listed.stdout.includes(password) && !(await cli('streams', 'credentials', 'list', id, '--json')).stdout.includes(password), 'the password is never listed');
  assert.equal((await cli('streams', 'credentials', 'revoke', 'receipts', credId)).stdout, `SMTP credentials ${credId} of stream ${id} revoked\n`);
  assert.match((await cli('streams', 'credentials', 'list', 'receipts')).stdout, /has no SMTP credentials/);
});
