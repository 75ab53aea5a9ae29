/**
 * The `estafeta` command as an operator uses it against a running Estafeta: create a delivery
 * from files (a broken CSV creates nothing), analyze with a readable report, confirm, follow
 * the KPIs as JSON, read the logs; the engine's adaptations, the quarantine and the bounce
 * qualification table; and clear errors for unknown ids.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
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
