import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { after, before, test } from 'node:test';
import { startSimulator, type Simulator } from './index.ts';
import { TestSmtpClient, testMessage } from './test-client.ts';
import { reverseName } from './dns-server.ts';

let sim: Simulator;
let resolver: Resolver;

before(async () => {
  sim = await startSimulator({ smtpPort: 0, dnsPort: 0 });
  resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`${sim.dns.host}:${sim.dns.port}`]);
});
after(() => sim.stop());

const code = (p: Promise<unknown>) => p.then(() => 'resolved', (err: NodeJS.ErrnoException) => err.code);

test("node's Resolver finds the simulated MX hosts and their loopback addresses", async () => {
  const mx = (await resolver.resolveMx('gmail.sim')).sort((a, b) => a.priority - b.priority);
  assert.deepEqual(mx, [
    { exchange: 'gmail-smtp-in.l.google.sim', priority: 5 },
    { exchange: 'alt1.gmail-smtp-in.l.google.sim', priority: 10 },
  ]);
  assert.deepEqual(await resolver.resolve4('gmail-smtp-in.l.google.sim'), ['127.0.1.1']);
  // Every MX host of every provider resolves to the address the simulator listens on.
  for (const host of sim.mxHosts()) {
    assert.deepEqual(await resolver.resolve4(host.name), [host.ip], host.name);
    const names = (await resolver.resolveMx(host.domains[0])).map((r) => r.exchange);
    assert.ok(names.includes(host.name), `${host.domains[0]} lists ${host.name}`);
  }
  // Names are case-insensitive, as in DNS.
  assert.equal((await resolver.resolveMx('GMail.SIM')).length, 2);
});

test('broken domains fail the way real broken domains do', async () => {
  assert.equal(await code(resolver.resolveMx('nxdomain.sim')), 'ENOTFOUND');
  assert.equal(await code(resolver.resolveMx('nomx.sim')), 'ENODATA');
  assert.equal(await code(resolver.resolve4('nomx.sim')), 'ENODATA');
  assert.deepEqual(await resolver.resolveMx('noaddress.sim'), [{ exchange: 'mx.noaddress.sim', priority: 10 }]);
  assert.equal(await code(resolver.resolve4('mx.noaddress.sim')), 'ENOTFOUND');
  // RFC 7505 null MX: a single MX with an empty exchange.
  assert.deepEqual(await resolver.resolveMx('nullmx.sim'), [{ exchange: '', priority: 0 }]);
  const [unreachable] = await resolver.resolveMx('unreachable.sim');
  const [ip] = await resolver.resolve4(unreachable.exchange);
  assert.ok(!sim.mxHosts().some((h) => h.ip === ip), 'unreachable MX address must not be a simulated MX host');
  // Names outside the simulated world do not exist, and an MX host has no IPv6 address.
  assert.equal(await code(resolver.resolveMx('example.com')), 'ENOTFOUND');
  assert.equal(await code(resolver.resolve6('gmail-smtp-in.l.google.sim')), 'ENODATA');
});

test('callers add TXT, MX and A records; long TXT values are split and come back whole over TCP', async () => {
  const key = 'v=DKIM1; k=rsa; p=' + 'M'.repeat(1400);
  sim.dns.addRecords(
    { name: 's1._domainkey.estafeta.test', type: 'TXT', data: key },
    [
      { name: 'test-domain.sim', type: 'MX', exchange: 'gmail-smtp-in.l.google.sim', priority: 1 },
      { name: 'host.test-domain.sim', type: 'A', address: '127.0.1.1' },
    ],
  );
  // 1.4 KB does not fit a 512-byte UDP answer: the resolver gets TC=1 and retries over TCP.
  const txt = await resolver.resolveTxt('s1._domainkey.estafeta.test');
  assert.equal(txt[0].join(''), key);
  assert.ok(txt[0].every((chunk) => chunk.length <= 255));
  assert.deepEqual(await resolver.resolveMx('test-domain.sim'), [{ exchange: 'gmail-smtp-in.l.google.sim', priority: 1 }]);
  assert.deepEqual(await resolver.resolve4('host.test-domain.sim'), ['127.0.1.1']);

  sim.dns.removeRecords('host.test-domain.sim');
  assert.equal(await code(resolver.resolve4('host.test-domain.sim')), 'ENOTFOUND');
  sim.dns.removeRecords('test-domain.sim', 'MX');
  assert.equal(await code(resolver.resolveMx('test-domain.sim')), 'ENODATA');
});

test('an MTA that resolves MX then A through this DNS reaches the simulated provider', async () => {
  const [best] = (await resolver.resolveMx('aol.sim')).sort((a, b) => a.priority - b.priority);
  const [ip] = await resolver.resolve4(best.exchange);
  const c = await TestSmtpClient.connect({ host: ip, port: sim.smtpPort, localAddress: '127.0.0.2' });
  assert.ok(c instanceof TestSmtpClient);
  const answer = await c.send('bounce@estafeta.test', ['ok-reader@aol.sim'], testMessage('<via-dns@estafeta.test>'));
  c.quit();
  assert.equal(answer.response, '250 ok dirdel');
  assert.equal(sim.counts().byDomain['aol.sim'].received, 1);
  assert.equal(sim.counts().connections.byMxHost[0].mxHost, best.exchange);
});

test('PTR records answer reverse lookups of IPv4 and IPv6 addresses', async () => {
  sim.dns.addRecords(
    { name: reverseName('127.0.0.2'), type: 'PTR', domain: 'mta1.estafeta.test' },
    { name: reverseName('2001:db8::25'), type: 'PTR', domain: 'mta6.estafeta.test' },
  );
  assert.equal(reverseName('192.0.2.1'), '1.2.0.192.in-addr.arpa');
  assert.deepEqual(await resolver.reverse('127.0.0.2'), ['mta1.estafeta.test']);
  assert.deepEqual(await resolver.resolvePtr(reverseName('2001:db8::25')), ['mta6.estafeta.test']);
  assert.equal(await code(resolver.resolvePtr(reverseName('127.0.0.77'))), 'ENOTFOUND');
  sim.dns.removeRecords(reverseName('127.0.0.2'));
});
