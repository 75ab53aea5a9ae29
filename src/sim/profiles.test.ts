import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assignMxHosts, loadSimProfiles, parseSimProfiles, SimProfileError } from './profiles.ts';

const minimal = (extra: Record<string, unknown> = {}) => ({
  providers: [{ name: 'p1', domains: ['one.sim'], mxHosts: [{ name: 'mx.one.sim' }], ...extra }],
});

test('the shipped profiles load and cover the large providers and the broken domains', () => {
  const profiles = loadSimProfiles();
  const served = profiles.providers.flatMap((p) => p.domains);
  for (const d of ['gmail.sim', 'googlemail.sim', 'yahoo.sim', 'aol.sim', 'outlook.sim', 'hotmail.sim', 'smallisp.sim']) assert.ok(served.includes(d), d);
  assert.deepEqual(
    profiles.brokenDomains.map((b) => b.domain),
    ['nxdomain.sim', 'nomx.sim', 'noaddress.sim', 'nullmx.sim', 'unreachable.sim'],
  );
  const gmail = profiles.providers.find((p) => p.name === 'gmail')!;
  // Gmail answers in several lines, each carrying the code and the enhanced code.
  assert.ok(gmail.replies.rateLimited.length > 1);
  for (const line of gmail.replies.rateLimited) assert.match(line, /^421[ -]4\.7\.28 /);
  assert.match(gmail.replies.rateLimited.join(' '), /unusual rate of/);
  assert.match(profiles.providers.find((p) => p.name === 'yahoo')!.replies.rateLimited[0], /^421 4\.7\.0 \[TSS04\] Messages from \{ip\} temporarily deferred/);
  assert.match(profiles.providers.find((p) => p.name === 'outlook')!.replies.rateLimited[0], /^451 4\.7\.500 Server busy/);
});

test('defaults fill what a profile leaves out', () => {
  const p = parseSimProfiles(minimal()).providers[0];
  assert.equal(p.maxConnectionsPerIp, 20);
  assert.equal(p.tls, true);
  assert.equal(p.rateLimit, null);
  assert.equal(p.fates.unknown, 0);
  assert.match(p.replies.unknown[0], /^550 5\.1\.1 /);
  assert.equal(p.mxHosts[0].priority, 10);
});

test('a misspelled field is reported with its path instead of being ignored', () => {
  assert.throws(
    () => parseSimProfiles(minimal({ maxConnectionPerIp: 3 }), 'my.yaml'),
    (err: Error) => err instanceof SimProfileError && /my\.yaml/.test(err.message) && /providers\.0/.test(err.message) && /maxConnectionPerIp/.test(err.message),
  );
});

test('a reply without an SMTP code, or of the wrong class, is refused', () => {
  assert.throws(() => parseSimProfiles(minimal({ replies: { unknown: 'User unknown' } })), /providers\.0\.replies\.unknown\.0: must be one line .*5xx/);
  assert.throws(() => parseSimProfiles(minimal({ replies: { greylisted: '550 5.7.1 no' } })), /replies\.greylisted\.0: .*4xx/);
  assert.throws(() => parseSimProfiles(minimal({ replies: { unknown: ['550-5.1.1 first', '551 5.1.1 second'] } })), /replies\.unknown: every line of a multi-line reply must start with the same code/);
});

test('percentages over 100, shared domains and MTA addresses are refused', () => {
  assert.throws(() => parseSimProfiles(minimal({ fates: { unknown: 60, full: 50 } })), /fates: the percentages add up to more than 100/);
  const twice = { providers: [...minimal().providers, { name: 'p2', domains: ['one.sim'], mxHosts: [{ name: 'mx.two.sim' }] }] };
  assert.throws(() => parseSimProfiles(twice), /providers\.1\.domains\.0: one\.sim is already used by provider p1/);
  assert.throws(() => parseSimProfiles(minimal({ mxHosts: [{ name: 'mx.one.sim', ip: '127.0.0.5' }] })), /reserved for the sending IPs/);
});

test('files that are missing or not YAML get a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-profiles-'));
  assert.throws(() => loadSimProfiles(join(dir, 'absent.yaml')), /cannot read simulator profiles .*absent\.yaml/);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'providers: [\n');
  assert.throws(() => loadSimProfiles(bad), /bad\.yaml is not valid YAML/);
});

test('every MX host gets its own loopback address outside 127.0.0.x', () => {
  const hosts = assignMxHosts(loadSimProfiles());
  const ips = hosts.map((h) => h.ip);
  assert.equal(new Set(ips).size, ips.length);
  for (const ip of ips) assert.match(ip, /^127\.0\.[1-9]\d*\.\d+$/);
  const fixed = assignMxHosts(parseSimProfiles(minimal({ mxHosts: [{ name: 'a.one.sim', ip: '127.0.1.2' }, { name: 'b.one.sim' }] })));
  assert.deepEqual(fixed.map((h) => h.ip), ['127.0.1.2', '127.0.1.3']);
});
