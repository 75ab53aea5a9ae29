/**
 * Operating a delivery while it is sent: pause holds its messages (nothing more reaches the
 * MX), resume continues where it stopped, stop cancels what is left; and a message still
 * deferred when the validity period ends becomes Failed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimDns } from '../src/sim/dns-server.ts';
import { isPostgresTest } from '../src/db/testing.ts';
import { freePort, startSink, type RcptPolicy } from './helpers/smtp-sink.ts';
import { fastRetryPolicyDir, startTestEstafeta, waitFor, type TestEstafeta } from './helpers/estafeta.ts';

async function world(ip: string, rcpt: RcptPolicy = () => null) {
  const port = await freePort([ip]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'ctl.test', type: 'MX', exchange: 'mx.ctl.test', priority: 5 }, { name: 'mx.ctl.test', type: 'A', address: ip }] });
  const sink = await startSink(ip, port, rcpt);
  // One connection and two messages a second: slow enough to act in the middle.
  const e = await startTestEstafeta({
    dns: { servers: [`127.0.0.1:${dns.port}`] },
    mta: { port },
    policy: { dir: fastRetryPolicyDir({ 'mx-rules.yaml': 'rules:\n  - { name: slow, mx: ["*.ctl.test"], maxConnections: 1, messagesPerMinute: 120 }\n  - { name: default, mx: ["*"] }\n' }) },
  });
  return { dns, sink, e, stop: async () => { await e.stop(); await sink.stop(); await dns.stop(); } };
}

async function start(e: TestEstafeta, n: number, validity = '1h'): Promise<number> {
  const created = await e.api('POST', '/deliveries', { from: { address: 'news@shop.test' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', validity, recipients: Array.from({ length: n }, (_, i) => ({ email: `p${i}@ctl.test` })) });
  assert.equal((await e.api('POST', `/deliveries/${created.body.id}/analyze`)).status, 200);
  assert.equal((await e.api('POST', `/deliveries/${created.body.id}/confirm`)).status, 200);
  return created.body.id;
}

test('pause holds the messages, resume continues, stop cancels what is left', { timeout: 120_000 }, async () => {
  const w = await world('127.0.3.71');
  try {
    const id = await start(w.e, 40);
    await waitFor('a few deliveries', async () => (w.sink.received.length >= 3 ? true : null), 30_000, 100);
    const paused = await w.e.api('POST', `/deliveries/${id}/pause`);
    assert.equal(paused.status, 200);
    assert.equal(paused.body.state, 'pause-requested');
    await waitFor('the pause to be acknowledged', async () => ((await w.e.api('GET', `/deliveries/${id}`)).body.state === 'paused' ? true : null));
    // Messages already on the wire may finish; after that, nothing more goes out.
    await new Promise((r) => setTimeout(r, 2000));
    const atPause = w.sink.received.length;
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(w.sink.received.length, atPause, 'nothing is sent while paused');
    const held = (await w.e.api('GET', `/mta/messages?delivery=${id}&limit=1000`)).body.messages;
    assert.ok(held.length > 0 && held.every((m: { state: string }) => m.state === 'paused'), JSON.stringify(held.slice(0, 3)));

    assert.equal((await w.e.api('POST', `/deliveries/${id}/resume`)).status, 200);
    await waitFor('sending to continue', async () => (w.sink.received.length > atPause + 2 ? true : null), 30_000, 100);
    assert.equal((await w.e.api('GET', `/deliveries/${id}`)).body.state, 'in-progress');

    const stopped = await w.e.api('POST', `/deliveries/${id}/stop`);
    assert.equal(stopped.body.state, 'stop-requested');
    const done = await waitFor('the stop to settle', async () => {
      const d = (await w.e.api('GET', `/deliveries/${id}`)).body;
      return d.state === 'stopped' && d.kpis.takenIntoAccount === 0 && d.kpis.pending === 0 ? d : null;
    }, 30_000);
    assert.equal(done.kpis.sent + done.kpis.cancelled, 40);
    assert.ok(done.kpis.cancelled > 0);
    const sentAtStop = w.sink.received.length;
    await new Promise((r) => setTimeout(r, 2000));
    assert.ok(w.sink.received.length - sentAtStop <= 1, 'nothing more is sent after the stop');
    assert.equal((await w.e.api('POST', `/deliveries/${id}/resume`)).status, 409, 'a stopped delivery cannot be resumed');
    const audit = (await w.e.api('GET', `/deliveries/${id}/audit`)).body.entries.map((a: { action: string }) => a.action);
    for (const action of ['confirmed', 'pause-requested', 'paused', 'resumed', 'stop-requested', 'stopped']) assert.ok(audit.includes(action), `${action} in ${audit}`);
  } finally {
    await w.stop();
  }
});

test('a message still deferred when the validity period ends is Failed', { timeout: 120_000, skip: isPostgresTest() && 'expiry does not depend on the database; run once' }, async () => {
  const w = await world('127.0.3.72', () => ({ code: 451, text: '4.3.0 mailbox temporarily unavailable' }));
  try {
    const id = await start(w.e, 2, '1m');
    const soft = await waitFor('a soft bounce', async () => {
      const d = (await w.e.api('GET', `/deliveries/${id}`)).body;
      return d.kpis.softBouncesPendingRetry === 2 ? d : null;
    });
    assert.equal(soft.kpis.takenIntoAccount, 2, 'a soft bounce keeps the status');
    const done = await waitFor('the validity to end', async () => {
      const d = (await w.e.api('GET', `/deliveries/${id}`)).body;
      return d.state === 'finished' ? d : null;
    }, 100_000, 500);
    assert.equal(done.kpis.failed, 2);
    const logs = (await w.e.api('GET', `/deliveries/${id}/logs`)).body.logs;
    for (const l of logs) {
      assert.equal(l.status, 'failed');
      assert.equal(l.failureType, 'Soft');
      assert.match(l.reply, /^451 4\.3\.0/);
      assert.ok(l.attempts > 3, `retried ${l.attempts} times within the validity`);
    }
    const history = (await w.e.api('GET', `/logs/${logs[0].id}`)).body.history.map((h: { type: string }) => h.type);
    assert.equal(history[history.length - 1], 'expired');
  } finally {
    await w.stop();
  }
});
