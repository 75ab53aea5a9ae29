/**
 * Traffic shaping against real SMTP peers on loopback: an MX rule's rate and connection
 * limits hold under load; adaptive rules throttle or suspend a site on matching replies and
 * an operator can list and cancel them; the circuit breaker stops a failing site; sending IPs
 * are bound and chosen by weight; a cold IP stays under its warm-up cap; waiting messages say
 * why they wait.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimDns, type SimDns } from '../src/sim/dns-server.ts';
import { freePort, startSink, type RcptPolicy, type Sink } from './helpers/smtp-sink.ts';
import { fastRetryPolicyDir, startTestEstafeta, waitFor, type TestEstafeta } from './helpers/estafeta.ts';
import { isPostgresTest } from '../src/db/testing.ts';

interface World {
  dns: SimDns;
  sink: Sink;
  e: TestEstafeta;
  stop(): Promise<void>;
}

async function world(ip: string, policies: Record<string, string>, rcpt: RcptPolicy = () => null, mta: Record<string, unknown> = {}): Promise<World> {
  const port = await freePort([ip]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'shaped.test', type: 'MX', exchange: 'mx.shaped.test', priority: 5 }, { name: 'mx.shaped.test', type: 'A', address: ip }] });
  const sink = await startSink(ip, port, rcpt);
  const e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port, ...mta }, policy: { dir: fastRetryPolicyDir(policies) } });
  return {
    dns,
    sink,
    e,
    async stop() {
      await e.stop();
      await sink.stop();
      await dns.stop();
    },
  };
}

async function send(e: TestEstafeta, n: number, prefix = 'user'): Promise<number> {
  const created = await e.api('POST', '/deliveries', { from: { address: 'news@shop.test' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', recipients: Array.from({ length: n }, (_, i) => ({ email: `${prefix}${i}@shaped.test` })) });
  const id = created.body.id;
  assert.equal((await e.api('POST', `/deliveries/${id}/analyze`)).status, 200);
  assert.equal((await e.api('POST', `/deliveries/${id}/confirm`)).status, 200);
  return id;
}

const timesOf = (sink: Sink) => (sink as Sink & { times?: number[] }).times!;

test('an MX rule of 600 messages per minute delivers 600 ± 10 % a minute, within its connection limit', { timeout: 150_000, skip: isPostgresTest() && 'shaping does not depend on the database; run once' }, async () => {
  const w = await world('127.0.3.41', {
    'mx-rules.yaml': 'rules:\n  - { name: shaped, mx: ["*.shaped.test"], messagesPerMinute: 600, maxConnections: 3, maxMessagesPerConnection: 50 }\n  - { name: default, mx: ["*"] }\n',
  });
  const times: number[] = [];
  (w.sink as Sink & { times?: number[] }).times = times;
  const origPush = w.sink.received.push.bind(w.sink.received);
  w.sink.received.push = (...items) => {
    for (let i = 0; i < items.length; i++) times.push(Date.now());
    return origPush(...items);
  };
  try {
    await send(w.e, 1500);
    await waitFor('a minute of sending', async () => (times.length > 0 && Date.now() - times[0] > 61_000 ? true : null), 120_000, 500);
    const t0 = timesOf(w.sink)[0];
    const inFirstMinute = times.filter((t) => t < t0 + 60_000).length;
    assert.ok(inFirstMinute >= 540 && inFirstMinute <= 660, `${inFirstMinute} messages in the first minute`);
    assert.ok(w.sink.connections.max <= 3, `at most 3 connections at once (saw ${w.sink.connections.max})`);
    const queues = (await w.e.api('GET', '/mta/queues')).body;
    const q = queues.queues.find((x: { site: string }) => x.site === 'mx.shaped.test');
    assert.equal(q.rule, 'shaped');
    assert.equal(q.messagesPerMinute, 600);
    assert.equal(queues.mtaProcesses, 1, 'one MTA process takes the whole rule');
    const metrics = await (await fetch(`${w.e.app.url}/metrics`)).text();
    assert.match(metrics, /estafeta_mta_rate_limit_per_minute\{site="mx\.shaped\.test",source="default"\} 600/);
    assert.match(metrics, /estafeta_mta_attempts_total\{outcome="delivered",site="mx\.shaped\.test"\} \d+/);
  } finally {
    await w.stop();
  }
});

test('a reply matching an adaptive rule throttles the site; the adaptation is listed with why and until when, and can be cancelled', { timeout: 60_000 }, async () => {
  let refusals = 0;
  const w = await world(
    '127.0.3.42',
    {
      'adaptive-rules.yaml': 'rules:\n  - { name: test-rate, match: { enhanced: "4.7.28" }, action: throttle, factor: 0.25, duration: 1h, trigger: immediate }\n  - { name: test-ts, match: { codes: [421], text: "\\\\[TS01\\\\]" }, action: suspend, duration: 1h, trigger: { count: 2, window: 1m } }\n',
    },
    (rcpt) => (rcpt.startsWith('rate') && refusals++ < 1 ? { code: 421, text: '4.7.28 Our system has detected an unusual rate of unsolicited mail' } : null),
  );
  try {
    await send(w.e, 5, 'rate');
    const list = await waitFor('the throttle', async () => {
      const a = (await w.e.api('GET', '/mta/adaptations')).body.adaptations;
      return a.length ? a : null;
    });
    assert.equal(list[0].rule, 'test-rate');
    assert.equal(list[0].action, 'throttle');
    assert.equal(list[0].factor, 0.25);
    assert.equal(list[0].site, 'mx.shaped.test');
    assert.match(list[0].reason, /421 4\.7\.28 Our system has detected/);
    assert.ok(Date.parse(list[0].until) - Date.parse(list[0].since) === 3_600_000);
    const queue = await waitFor('the queue to report the throttle', async () => (await w.e.api('GET', '/mta/queues')).body.queues.find((q: { factor: number }) => q.factor === 0.25) ?? null);
    assert.equal(queue.site, 'mx.shaped.test');
    const cancelled = await w.e.api('DELETE', `/mta/adaptations/${list[0].id}`);
    assert.equal(cancelled.status, 200);
    assert.equal((await w.e.api('GET', '/mta/adaptations')).body.adaptations.length, 0);
    assert.equal((await w.e.api('DELETE', `/mta/adaptations/${list[0].id}`)).status, 404);
  } finally {
    await w.stop();
  }
});

test('a suspension after N matching replies holds the site; waiting messages say why; cancelling lets them go', { timeout: 60_000 }, async () => {
  let suspended = true;
  const w = await world(
    '127.0.3.43',
    { 'adaptive-rules.yaml': 'rules:\n  - { name: test-ts, match: { codes: [421], text: "\\\\[TS01\\\\]" }, action: suspend, duration: 1h, trigger: { count: 2, window: 1m } }\n' },
    () => (suspended ? { code: 421, text: '4.7.0 [TS01] Messages from 127.0.0.1 temporarily deferred due to user complaints' } : null),
    { maxConnectionsPerSite: 1 },
  );
  try {
    const id = await send(w.e, 6, 'ts');
    const a = await waitFor('the suspension', async () => (await w.e.api('GET', '/mta/adaptations')).body.adaptations[0] ?? null);
    assert.equal(a.action, 'suspend');
    const waiting = await waitFor('messages waiting with a reason', async () => {
      const m = (await w.e.api('GET', `/mta/messages?delivery=${id}`)).body.messages;
      return m.length && m.every((x: { waitReason: string | null; state: string }) => x.state === 'waiting' && /suspended by test-ts/.test(x.waitReason ?? '')) ? m : null;
    });
    assert.ok(waiting.length >= 3);
    suspended = false;
    await w.e.api('DELETE', `/mta/adaptations/${a.id}`);
    await waitFor('delivery after the cancel', async () => ((await w.e.api('GET', `/deliveries/${id}`)).body.kpis.sent === 6 ? true : null), 30_000);
  } finally {
    await w.stop();
  }
});

test('the circuit breaker stops a site whose error rate is extreme', { timeout: 60_000 }, async () => {
  const w = await world(
    '127.0.3.44',
    { 'adaptive-rules.yaml': 'circuitBreaker: { minMessages: 20, errorRate: 0.9, window: 10m, duration: 3h }\nrules: []\n' },
    () => ({ code: 451, text: '4.3.0 temporary local problem' }),
  );
  try {
    await send(w.e, 40, 'cb');
    const a = await waitFor('the breaker', async () => (await w.e.api('GET', '/mta/adaptations')).body.adaptations.find((x: { rule: string }) => x.rule === 'circuit-breaker') ?? null);
    assert.equal(a.action, 'suspend');
    assert.equal(a.source, null);
    assert.match(a.reason, /100 % of the last attempts failed/);
    assert.ok(Date.parse(a.until) - Date.parse(a.since) === 3 * 3_600_000);
  } finally {
    await w.stop();
  }
});

test('sending IPs are bound, chosen by weight, and a cold IP stays under its warm-up cap', { timeout: 60_000 }, async () => {
  const today = new Date().toISOString().slice(0, 10);
  const w = await world('127.0.3.45', {
    'sending-ips.yaml': [
      'pools:',
      '  default:',
      '    ips:',
      '      - { address: 127.0.0.2, helo: mta2.shop.test, weight: 3 }',
      '      - { address: 127.0.0.3, helo: mta3.shop.test, weight: 1 }',
      '  cold:',
      '    ips:',
      `      - { address: 127.0.0.4, helo: mta4.shop.test, warmup: tiny, warmupStart: ${today} }`,
      'warmupPlans:',
      '  tiny: { schedule: [ { fromDay: 1, cap: 5 }, { fromDay: 2, cap: 10 } ] }',
    ].join('\n'),
  });
  try {
    const id = await send(w.e, 400, 'w');
    await waitFor('all sent', async () => ((await w.e.api('GET', `/deliveries/${id}`)).body.kpis.sent === 400 ? true : null), 40_000);
    const by = (ip: string) => w.sink.received.filter((m) => m.remoteAddress === ip).length;
    assert.equal(by('127.0.0.2') + by('127.0.0.3'), 400);
    const share = by('127.0.0.2') / 400;
    assert.ok(share > 0.68 && share < 0.82, `weight 3:1 gave ${Math.round(share * 100)} % to the first IP`);

    const cold = await w.e.api('POST', '/deliveries', { from: { address: 'news@shop.test' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', ipPool: 'cold', recipients: Array.from({ length: 12 }, (_, i) => ({ email: `c${i}@shaped.test` })) });
    assert.equal(cold.body.ipPool, 'cold');
    await w.e.api('POST', `/deliveries/${cold.body.id}/analyze`);
    await w.e.api('POST', `/deliveries/${cold.body.id}/confirm`);
    await waitFor('the cap to be reached', async () => (by('127.0.0.4') === 5 ? true : null));
    const waiting = await waitFor('the rest to wait for tomorrow', async () => {
      const m = (await w.e.api('GET', `/mta/messages?delivery=${cold.body.id}`)).body.messages;
      return m.length === 7 && m.every((x: { waitReason: string }) => /warm-up cap reached: 127\.0\.0\.4 may send 5 messages a day to default/.test(x.waitReason)) ? m : null;
    });
    assert.ok(Date.parse(waiting[0].nextAttemptAt) > Date.now() + 60_000);
    const ips = await waitFor('the usage to be recorded', async () => {
      const pool = (await w.e.api('GET', '/mta/ips')).body.pools.find((p: { name: string }) => p.name === 'cold');
      return pool?.ips[0].sentToday.default === 5 ? pool : null;
    });
    assert.deepEqual(ips.ips[0].warmup, { plan: 'tiny', day: 1, capPerProvider: 5 });
  } finally {
    await w.stop();
  }
});
