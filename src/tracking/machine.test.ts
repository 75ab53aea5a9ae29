import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layeredFiles } from '../config/policy-file.ts';
import { loadMachineEngagement } from '../config/machine-engagement.ts';
import { agentMatcher } from './machine.ts';

const shipped = loadMachineEngagement(layeredFiles('machine-engagement.yaml', null));
const m = agentMatcher(shipped.agents);
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

function operatorDir(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-machine-'));
  writeFileSync(join(dir, 'machine-engagement.yaml'), text);
  return dir;
}

test('Apple Mail Privacy Protection needs both the bare Mozilla/5.0 agent and an address in 17.0.0.0/8', () => {
  assert.deepEqual(m.match('Mozilla/5.0', '17.58.1.2'), { name: 'Apple Mail Privacy Protection', kind: 'machine' });
  assert.deepEqual(m.match('Mozilla/5.0', '::ffff:17.1.2.3'), { name: 'Apple Mail Privacy Protection', kind: 'machine' }, 'an IPv4-mapped IPv6 address');
  assert.equal(m.match('Mozilla/5.0', '18.1.2.3'), null, 'the agent from elsewhere');
  assert.equal(m.match(CHROME, '17.1.2.3'), null, "a person's browser on Apple's network");
});

test("Gmail's and Yahoo's image proxies are proxies (judged by timing later), not machines outright", () => {
  assert.deepEqual(m.match('Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)', '66.249.84.1'), { name: 'Gmail image proxy', kind: 'proxy' });
  assert.equal(m.match('YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html', '98.136.1.1')?.kind, 'proxy');
});

test('Microsoft Safe Links addresses, IPv4 and IPv6, are scanners whatever their user agent', () => {
  assert.deepEqual(m.match(CHROME, '40.107.22.33'), { name: 'Microsoft Safe Links', kind: 'scanner' });
  assert.deepEqual(m.match(CHROME, '2a01:111:f400:7e1b::1'), { name: 'Microsoft Safe Links', kind: 'scanner' });
  assert.equal(m.match(CHROME, '40.106.255.255'), null, 'just outside the range');
});

test('scripted clients are scanners; a normal browser from an ordinary address is nobody', () => {
  assert.equal(m.match('python-requests/2.32.3', '198.51.100.7')?.kind, 'scanner');
  assert.equal(m.match('curl/8.5.0', '198.51.100.7')?.kind, 'scanner');
  assert.equal(m.match('', '198.51.100.7')?.kind, 'scanner', 'no user agent at all');
  assert.equal(m.match(CHROME, '203.0.113.5'), null);
});

test('an operator file adds its agents after the shipped ones and overrides a timing key by key', () => {
  const dir = operatorDir("agents:\n  - name: Corp gateway\n    kind: scanner\n    ranges: ['203.0.113.0/24']\ntiming:\n  burst: 3s\n");
  const p = loadMachineEngagement(layeredFiles('machine-engagement.yaml', dir));
  assert.equal(p.timing.burstMs, 3000);
  assert.equal(p.timing.proxyPrefetchMs, shipped.timing.proxyPrefetchMs, 'the timings not named keep the shipped values');
  assert.equal(p.timing.clickBeforeOpenMs, shipped.timing.clickBeforeOpenMs);
  assert.equal(p.agents.length, shipped.agents.length + 1);
  assert.deepEqual(agentMatcher(p.agents).match(CHROME, '203.0.113.5'), { name: 'Corp gateway', kind: 'scanner' });
  assert.equal(p.files[0], join(dir, 'machine-engagement.yaml'));
});

test('an invalid range or regular expression is an error that names the file and the key', () => {
  for (const [text, key] of [
    ["agents:\n  - { name: x, kind: scanner, ranges: ['10.0.0.0/33'] }\n", 'agents.0.ranges.0'],
    ["agents:\n  - { name: x, kind: scanner, ranges: ['not-an-ip/8'] }\n", 'agents.0.ranges.0'],
    ["agents:\n  - { name: x, kind: scanner, userAgent: '(unclosed' }\n", 'agents.0.userAgent'],
    ['agents:\n  - { name: x, kind: scanner }\n', 'agents.0'],
    ['timing:\n  burst: 2h\n', 'burst'],
  ]) {
    const dir = operatorDir(text);
    assert.throws(() => loadMachineEngagement(layeredFiles('machine-engagement.yaml', dir)), (err: Error) => {
      assert.ok(err.message.includes(join(dir, 'machine-engagement.yaml')), err.message);
      assert.ok(err.message.includes(key), `${key} in ${err.message}`);
      return true;
    });
  }
});

test('a remembered answer is per client: the same agent from another address is judged again', () => {
  const m = agentMatcher(shipped.agents);
  for (let i = 0; i < 3; i++) {
    assert.equal(m.match('Mozilla/5.0', '17.58.1.1')?.name, 'Apple Mail Privacy Protection');
    assert.equal(m.match('Mozilla/5.0', '203.0.113.9'), null);
    assert.equal(m.match('python-requests/2.31', '203.0.113.9')?.kind, 'scanner');
  }
});
