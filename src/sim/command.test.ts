import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSimCommandArgs } from './command.ts';
import { TestSmtpClient, testMessage } from './test-client.ts';

const COMMAND = fileURLToPath(new URL('./command.ts', import.meta.url));

function run(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', COMMAND, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const firstLine = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  firstLine.catch(() => {}); // awaited only by tests that expect the command to start
  return { child, firstLine, exited, stderr: () => stderr };
}

test('estafeta sim --json prints where it listens, serves counts over HTTP and stops on SIGTERM', async () => {
  const sim = run(['--json', '--dns-port', '0', '--smtp-port', '0', '--http-port', '0']);
  try {
    const info = JSON.parse(await sim.firstLine);
    assert.equal(info.dns.host, '127.0.0.1');
    assert.ok(info.dns.port > 0 && info.smtpPort > 0);
    assert.ok(info.domains.includes('gmail.sim') && info.domains.includes('outlook.sim'));
    assert.match(info.countsUrl, /^http:\/\/127\.0\.0\.1:\d+\/counts$/);

    const gmail = info.mxHosts.find((h: { provider: string }) => h.provider === 'gmail');
    const c = await TestSmtpClient.connect({ host: gmail.ip, port: info.smtpPort, localAddress: '127.0.0.2' });
    assert.ok(c instanceof TestSmtpClient);
    assert.equal((await c.send('b@estafeta.test', ['ok-cmd-test@gmail.sim'], testMessage('<cmd@estafeta.test>'))).code, 250);
    c.quit();

    const counts = await (await fetch(info.countsUrl)).json();
    assert.equal(counts.totals.messages, 1);
    assert.equal(counts.byDomain['gmail.sim'].received, 1);
    const one = await fetch(info.countsUrl.replace(/counts$/, 'recipients/ok-cmd-test%40gmail.sim'));
    assert.deepEqual(await one.json(), { address: 'ok-cmd-test@gmail.sim', received: 1, deferred: 0, rejected: 0 });
    assert.equal((await fetch(info.countsUrl.replace(/counts$/, 'recipients/never%40gmail.sim'))).status, 404);

    sim.child.kill('SIGTERM');
    assert.equal(await sim.exited, 0);
  } finally {
    sim.child.kill('SIGKILL');
  }
});

test('an invalid profiles file stops the command with the reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-cmd-'));
  const file = join(dir, 'profiles.yaml');
  writeFileSync(file, 'providers:\n  - name: x\n    domains: [x.sim]\n    mxHosts: [{ name: mx.x.sim }]\n    rateLimit: fast\n');
  const sim = run(['--profiles', file, '--dns-port', '0', '--smtp-port', '0', '--http-port', '0']);
  assert.equal(await sim.exited, 1);
  assert.match(sim.stderr(), /invalid simulator profiles in .*profiles\.yaml:\n {2}- providers\.0\.rateLimit: /);
});

test('bad arguments are refused with the usage', () => {
  assert.throws(() => parseSimCommandArgs(['--smtp-port', 'many']), /--smtp-port must be a port number.*\n.*Usage: estafeta sim/s);
  assert.throws(() => parseSimCommandArgs(['--inbound', 'localhost']), /--inbound must be HOST:PORT/);
  assert.throws(() => parseSimCommandArgs(['--what']), /Unknown option '--what'.*Usage/s);
  assert.deepEqual(parseSimCommandArgs(['--inbound', '127.0.0.1:2526', '--json']).inbound, '127.0.0.1:2526');
});

test('engagement is off unless --engagement or --time-scale asks for it', () => {
  assert.equal(parseSimCommandArgs([]).engagement, undefined);
  assert.deepEqual([parseSimCommandArgs(['--engagement']).engagement, parseSimCommandArgs(['--engagement']).timeScale], [true, undefined]);
  assert.deepEqual([parseSimCommandArgs(['--time-scale', '0.01']).engagement, parseSimCommandArgs(['--time-scale', '0.01']).timeScale], [true, 0.01]);
  assert.throws(() => parseSimCommandArgs(['--time-scale', '0']), /--time-scale must be a positive number/);
});
