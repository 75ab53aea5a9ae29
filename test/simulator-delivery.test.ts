/**
 * The MTA and the feedback path against the ISP simulator: a delivery to simulated providers,
 * each recipient's fate chosen by its address, found through the simulator's DNS like any
 * MX; later bounce mails, complaints and auto-replies come back to the bounce listener. Every
 * delivery log must end as the provider answered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator } from '../src/sim/index.ts';
import { silentLogger } from '../src/lib/logger.ts';
import { freeTcpPort } from './helpers/child.ts';
import { startTestEstafeta, waitFor } from './helpers/estafeta.ts';

const FATES: [string, (log: Record<string, any>) => void][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
  ['ok-ana@gmail.sim', (l) => assert.equal(l.status, 'sent')],
  ['ok-bob@outlook.sim', (l) => assert.equal(l.status, 'sent')],
  ['unknown-cid@gmail.sim', (l) => assert.deepEqual([l.status, l.failureType, l.failureReason], ['failed', 'Hard', 'User unknown'])],
  ['unknown-dan@yahoo.sim', (l) => assert.deepEqual([l.status, l.failureReason], ['failed', 'User unknown'])],
  // A full mailbox answers 452: a soft bounce, retried until the validity period ends.
  ['full-eve@smallisp.sim', (l) => assert.deepEqual([l.status, l.failureType, l.failureReason], ['taken', 'Soft', 'Mailbox full'])],
  ['grey-ok-fay@smallisp.sim', (l) => {
    assert.equal(l.status, 'sent');
    assert.ok(l.attempts >= 2, 'greylisted first, delivered on a retry');
  }],
  ['bounce-later-gus@outlook.sim', (l) => {
    assert.deepEqual([l.status, l.failureReason], ['failed', 'User unknown']);
    assert.ok(l.sentAt, 'it was Sent before the bounce mail came');
  }],
  ['complain-hal@yahoo.sim', (l) => {
    assert.equal(l.status, 'sent');
    assert.ok(l.complainedAt, 'the complaint is recorded on a Sent log');
  }],
  ['autoreply-ivy@gmail.sim', (l) => assert.equal(l.status, 'sent')],
  ['someone@nxdomain.sim', (l) => assert.deepEqual([l.status, l.failureReason], ['failed', 'Invalid domain'])],
];

test('a delivery through the simulated providers ends as each provider answered, late feedback included', { timeout: 120_000 }, async () => {
  const bouncePort = await freeTcpPort();
  const sim = await startSimulator({ dnsPort: 0, smtpPort: 0, inbound: { host: '127.0.0.1', port: bouncePort }, asyncDelayMs: 300, logger: silentLogger });
  const e = await startTestEstafeta({
    dns: { servers: [`127.0.0.1:${sim.dns.port}`] },
    mta: { port: sim.smtpPort, localAddress: '127.0.0.2' },
    bounces: { domain: 'bounces.shop.test', listen: { host: '127.0.0.1', port: bouncePort } },
  });
  try {
    const created = await e.api('POST', '/deliveries', { from: { address: 'news@shop.test' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', recipients: FATES.map(([email]) => ({ email })) });
    const id = created.body.id;
    assert.equal((await e.api('POST', `/deliveries/${id}/analyze`)).status, 200);
    assert.equal((await e.api('POST', `/deliveries/${id}/confirm`)).status, 200);
    await waitFor('every log but the full mailbox to be final', async () => {
      const open = (await e.api('GET', `/deliveries/${id}/logs?status=pending,taken`)).body.logs;
      return open.length === 1 && open[0].address.startsWith('full-') && open[0].failureReason ? true : null;
    }, 90_000, 300);
    // Then the late mails: a bounce, a complaint and an auto-reply.
    await waitFor('the late feedback', async () => {
      const k = (await e.api('GET', `/deliveries/${id}/kpis`)).body;
      const inbound = (await e.api('GET', '/bounces/inbound')).body.mails;
      return k.complaints === 1 && inbound.filter((m: { status: string }) => m.status === 'processed').length >= 3 ? true : null;
    }, 60_000, 300);
    const logs = (await e.api('GET', `/deliveries/${id}/logs?limit=100`)).body.logs;
    for (const [email, check] of FATES) {
      const log = logs.find((l: { address: string }) => l.address === email);
      assert.ok(log, email);
      try {
        check(log);
      } catch (err) {
        throw new Error(`${email}: ${(err as Error).message} (log: ${JSON.stringify(log)})`);
      }
    }
    const auto = logs.find((l: { address: string }) => l.address.startsWith('autoreply-'));
    assert.ok((await e.api('GET', `/logs/${auto.id}`)).body.history.some((h: { type: string }) => h.type === 'auto-replied'));
    assert.equal((await e.api('GET', '/quarantine/entry?address=complain-hal@yahoo.sim')).body.status, 'denylisted');
    assert.equal((await e.api('GET', '/quarantine/entry?address=unknown-cid@gmail.sim')).body.status, 'quarantine');
    // One message per recipient reached the providers, sent from the configured address.
    const counts = sim.counts();
    assert.equal(counts.recipients.receivedMoreThanOnce, 0);
    assert.ok(counts.connections.byMxHost.every((c) => c.ip !== '127.0.0.1'), 'the MTA reached the simulated MX hosts through DNS');
  } finally {
    await e.stop();
    await sim.stop();
  }
});
