/**
 * The newcomer's path, run as a newcomer runs it: `estafeta demo --json --exit` in its own
 * process (the simulator and Estafeta wired together, a sample delivery sent through real
 * SMTP, DNS and bounce mail) must print one JSON object whose KPIs add up; and
 * `estafeta sim` must start with Estafeta's bounce listener as its default inbound and
 * answer GET /counts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { simArgs } from '../src/cli/commands/sim.ts';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

function estafeta(args: string[], cwd?: string) {
  // A clean environment for the settings the demo chooses itself.
  const env = { ...process.env, DATABASE_URL: '', ESTAFETA_ADMIN_PASSWORD: '', ESTAFETA_BOUNCE_PORT: '', ESTAFETA_SUBMISSION_PORT: '' };
  // From another folder: name tsx's loader by its full URL.
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env, cwd });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

test('estafeta demo --json sends a sample delivery through the simulator and prints its final KPIs', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-demo-test-'));
  // The default database: a new file in ./data/demo/ of the folder it runs in.
  const run = estafeta(['demo', '--recipients', '300', '--json', '--exit', '--port', '0'], dir);
  try {
    const code = await run.exited;
    assert.equal(code, 0, run.stderr());
    // stdout is exactly one JSON object: nothing else may be printed there.
    const out = JSON.parse(run.stdout());
    const k = out.kpis;
    assert.equal(k.toDeliver, 300);
    assert.equal(k.processed, 300);
    assert.equal(k.sent + k.failed, 300);
    assert.equal(k.pending + k.takenIntoAccount + k.softBouncesPendingRetry, 0, 'every log is final');
    assert.ok(k.sent > 240, `most recipients are delivered (${k.sent})`);
    assert.ok(k.failuresByReason['User unknown'] > 0, JSON.stringify(k.failuresByReason));
    assert.ok(k.failuresByReason['Mailbox full'] > 0, JSON.stringify(k.failuresByReason));
    assert.ok(k.quarantined > 0, 'hard bounces quarantine their address');
    assert.ok(k.complaints > 0, 'the simulator complained (ARF) and Estafeta applied it');
    assert.equal(k.successPercent, Math.round((k.sent / 300) * 10000) / 100);
    assert.ok(out.excluded['Bad-quality address'] >= 1 && out.excluded.Double >= 1, JSON.stringify(out.excluded));
    assert.ok(typeof out.elapsedSeconds === 'number' && out.elapsedSeconds > 0);
    assert.ok(out.simulator.asyncMails.arf > 0 && out.simulator.asyncMails.dsn > 0, JSON.stringify(out.simulator));
    // The simulated recipients engage: privacy proxies open at delivery and scanners follow
    // links at once (both counted as machines'), people open within seconds in the demo.
    assert.ok(k.machineOpens > 0 && k.machineClicks > 0, `machine opens ${k.machineOpens}, clicks ${k.machineClicks}`);
    assert.ok(k.opens > 0 && k.uniqueOpens > 0, `people's opens ${k.opens}`);
    assert.ok(out.simulator.engagement.machineOpen > 0 && out.simulator.engagement.open > 0, JSON.stringify(out.simulator.engagement));
    const files = readdirSync(join(dir, 'data', 'demo'));
    assert.equal(files.length, 1, `one database, closed (no -wal, -shm or .pid left): ${files.join(' ')}`);
    assert.match(files[0], /^demo-\d{8}T\d{6}\.db$/);
    assert.equal(out.database, `sqlite:${join(dir, 'data', 'demo', files[0])}`);
  } finally {
    run.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a demo stopped by Ctrl-C closes its database and says where it is; demo --clean removes ended ones', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-demo-clean-'));
  // A database an older version left directly in ./data/.
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'demo-20250101T000000.db'), '');
  const run = estafeta(['demo', '--recipients', '5000', '--port', '0'], dir);
  try {
    const until = Date.now() + 60_000;
    while (!/Sending /.test(run.stderr()) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    run.child.kill('SIGINT');
    assert.equal(await run.exited, 130, run.stderr());
    assert.match(run.stderr(), /The demo was interrupted\. This demo's database is data\/demo\/demo-\d{8}T\d{6}\.db \([\d.]+ MB\)/);
    assert.match(run.stderr(), /Remove them:  npx estafeta demo --clean   \(this one and 1 older one/);
    const files = readdirSync(join(dir, 'data', 'demo'));
    assert.equal(files.length, 1, `closed: no -wal, -shm or .pid left: ${files.join(' ')}`);

    const clean = estafeta(['demo', '--clean'], dir);
    assert.equal(await clean.exited, 0, clean.stderr());
    assert.match(clean.stdout(), /^removed 2 demo databases \([\d.]+ MB\) from /);
    assert.deepEqual(readdirSync(join(dir, 'data', 'demo')), []);
    assert.deepEqual(readdirSync(join(dir, 'data')), ['demo']);
  } finally {
    run.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('estafeta sim starts, sends its late mail to the bounce listener by default and answers GET /counts', { timeout: 60_000 }, async () => {
  const sim = estafeta(['sim', '--json', '--dns-port', '0', '--smtp-port', '0', '--http-port', '0']);
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: sim.child.stdout }).once('line', resolve);
      sim.exited.then((code) => reject(new Error(`exited ${code}: ${sim.stderr()}`)));
    });
    const info = JSON.parse(line);
    assert.deepEqual(info.inbound, { host: '127.0.0.1', port: 2526 });
    assert.ok(info.dns.port > 0 && info.smtpPort > 0);
    const res = await fetch(info.countsUrl);
    assert.equal(res.status, 200);
    const counts = await res.json();
    assert.equal(counts.totals.messages, 0);
    assert.ok('byProvider' in counts && 'async' in counts);
    sim.child.kill('SIGTERM');
    assert.equal(await sim.exited, 0);
  } finally {
    sim.child.kill('SIGKILL');
  }
});

test('estafeta sim --help prints the simulator usage', async () => {
  const help = estafeta(['sim', '--help']);
  assert.equal(await help.exited, 0);
  assert.match(help.stdout(), /^Usage: estafeta sim \[options\]/);
  assert.match(help.stdout(), /--inbound HOST:PORT .*default 127\.0\.0\.1:2526/);
});

test('estafeta sim defaults --inbound to the bounce listener unless told otherwise', () => {
  assert.deepEqual(simArgs([], {}), ['--inbound', '127.0.0.1:2526']);
  assert.deepEqual(simArgs(['--json'], { ESTAFETA_BOUNCE_PORT: '2600' }), ['--json', '--inbound', '127.0.0.1:2600']);
  assert.deepEqual(simArgs(['--inbound', '10.0.0.1:25']), ['--inbound', '10.0.0.1:25']);
  assert.deepEqual(simArgs(['--inbound=10.0.0.1:25']), ['--inbound=10.0.0.1:25']);
  assert.deepEqual(simArgs(['--no-inbound', '--json']), ['--json']);
});
