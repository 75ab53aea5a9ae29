import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import PostalMime, { type Email } from 'postal-mime';
import { SMTPServer } from 'smtp-server';
import { startSimulator, type Simulator } from './index.ts';
import { TestSmtpClient, testMessage } from './test-client.ts';

/** One provider per DSN style, so each style is seen arriving. */
const PROFILES = {
  providers: [
    { name: 'pfx', domains: ['pfx.sim'], mxHosts: [{ name: 'mx.pfx.sim' }], dsnStyle: 'postfix' },
    { name: 'exm', domains: ['exm.sim'], mxHosts: [{ name: 'mx.exm.sim' }], dsnStyle: 'exim' },
    { name: 'exc', domains: ['exc.sim'], mxHosts: [{ name: 'mx.exc.sim' }], dsnStyle: 'exchange', replies: { unknown: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {rcpt} not found by SMTP address lookup' } },
  ],
};

interface Arrived {
  mailFrom: string;
  rcptTo: string[];
  remoteAddress: string;
  raw: Buffer;
}

/** An smtp-server standing in for Estafeta's bounce listener. */
async function startInbound(port = 0) {
  const arrived: Arrived[] = [];
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const from = session.envelope.mailFrom;
        arrived.push({ mailFrom: from ? from.address : 'none', rcptTo: session.envelope.rcptTo.map((r) => r.address), remoteAddress: session.remoteAddress, raw: Buffer.concat(chunks) });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, arrived, port: (server.server.address() as AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function deliver(sim: Simulator, mxName: string, to: string, messageId: string, from = 'bounce+42@estafeta.test') {
  const host = sim.mxHosts().find((h) => h.name === mxName)!.ip;
  const c = await TestSmtpClient.connect({ host, port: sim.smtpPort, localAddress: '127.0.0.2' });
  assert.ok(c instanceof TestSmtpClient);
  const answer = await c.send(from, [to], testMessage(messageId, 'Spring offers'));
  assert.equal(answer.code, 250, answer.response);
  c.quit();
}

async function until(check: () => boolean, ms = 5000) {
  for (const end = Date.now() + ms; !check(); ) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const part = (mail: Email, type: string) => {
  const a = mail.attachments.find((x) => x.mimeType === type);
  assert.ok(a, `no ${type} part`);
  return typeof a.content === 'string' ? a.content : Buffer.from(a.content as ArrayBuffer).toString('latin1');
};
const header = (mail: Email, key: string) => mail.headers.find((h) => h.key === key)?.value ?? '';

test('bounce-later recipients are accepted, then a DSN in each MTA style reaches the inbound listener', async () => {
  const inbound = await startInbound();
  const sim = await startSimulator({ smtpPort: 0, profiles: PROFILES, inbound: { host: '127.0.0.1', port: inbound.port }, asyncDelayMs: 50 });
  try {
    await deliver(sim, 'mx.pfx.sim', 'bounce-later-ann@pfx.sim', '<dsn-pfx@estafeta.test>');
    await deliver(sim, 'mx.exm.sim', 'bounce-later-bea@exm.sim', '<dsn-exm@estafeta.test>');
    await deliver(sim, 'mx.exc.sim', 'bounce-later-cid@exc.sim', '<dsn-exc@estafeta.test>');
    await until(() => inbound.arrived.length === 3);
    const subjects: string[] = [];
    for (const got of inbound.arrived) {
      assert.equal(got.mailFrom, '', 'a bounce is sent with MAIL FROM:<>');
      assert.deepEqual(got.rcptTo, ['bounce+42@estafeta.test']);
      assert.match(got.remoteAddress, /^127\.0\.[1-9]\d*\.\d+$/, 'sent from the MX host address');
      const mail = await PostalMime.parse(got.raw);
      subjects.push(mail.subject ?? '');
      assert.match(header(mail, 'content-type'), /^multipart\/report;.*report-type=delivery-status/);
      assert.equal(header(mail, 'auto-submitted'), 'auto-replied');
      const status = part(mail, 'message/delivery-status');
      assert.match(status, /^Reporting-MTA: dns; ?mx\.(pfx|exm|exc)\.sim/m);
      assert.match(status, /^Final-Recipient: rfc822; ?bounce-later-\w+@\w+\.sim/m);
      assert.match(status, /^Action: failed/m);
      assert.match(status, /^Status: 5\.1\.(1|10)$/m);
      assert.match(status, /^Diagnostic-Code: smtp; ?55\d /m);
      const original = part(mail, 'text/rfc822-headers');
      assert.match(original, /^Message-ID: <dsn-(pfx|exm|exc)@estafeta\.test>/m);
    }
    assert.deepEqual(subjects.sort(), ['Mail delivery failed: returning message to sender', 'Undeliverable: Spring offers', 'Undelivered Mail Returned to Sender']);
    // Counted once the listener's 250 reached the simulator, which may be after the mail itself arrived.
    await until(() => sim.counts().async.sent === 3);
  } finally {
    await sim.stop();
    await inbound.close();
  }
});

test('complaints arrive as ARF reports with the original message; auto-replies as RFC 3834 replies', async () => {
  const inbound = await startInbound();
  const sim = await startSimulator({ smtpPort: 0, profiles: PROFILES, inbound: { host: '127.0.0.1', port: inbound.port }, asyncDelayMs: 50 });
  try {
    await deliver(sim, 'mx.pfx.sim', 'complain-dan@pfx.sim', '<arf@estafeta.test>');
    await deliver(sim, 'mx.exc.sim', 'autoreply-eve@exc.sim', '<ooo@estafeta.test>');
    await until(() => inbound.arrived.length === 2);
    const mails = await Promise.all(inbound.arrived.map((a) => PostalMime.parse(a.raw)));
    const arf = mails.find((m) => /feedback-report/.test(header(m, 'content-type')))!;
    assert.ok(arf, 'an ARF report arrived');
    assert.match(header(arf, 'content-type'), /^multipart\/report;.*report-type=feedback-report/);
    const report = part(arf, 'message/feedback-report');
    assert.match(report, /^Feedback-Type: abuse$/m);
    assert.match(report, /^Version: 1$/m);
    assert.match(report, /^Original-Mail-From: <bounce\+42@estafeta\.test>$/m);
    assert.match(report, /^Original-Rcpt-To: <complain-dan@pfx\.sim>$/m);
    assert.match(report, /^Source-IP: 127\.0\.0\.2$/m);
    const original = part(arf, 'message/rfc822');
    assert.match(original, /^Message-ID: <arf@estafeta\.test>/m);
    assert.match(original, /Hello from a test\./, 'the whole original message is attached');

    const reply = mails.find((m) => m !== arf)!;
    assert.equal(header(reply, 'auto-submitted'), 'auto-replied');
    assert.equal(reply.subject, 'Automatic reply: Spring offers');
    assert.equal(reply.inReplyTo, '<ooo@estafeta.test>');
    assert.equal(reply.from?.address, 'autoreply-eve@exc.sim');
    assert.deepEqual(sim.counts().async.byKind, { dsn: 0, arf: 1, autoreply: 1 });
  } finally {
    await sim.stop();
    await inbound.close();
  }
});

test('without an inbound listener the mails are kept in the outbox; a null sender gets none', async () => {
  const sim = await startSimulator({ smtpPort: 0, profiles: PROFILES, asyncDelayMs: 10_000 });
  try {
    await deliver(sim, 'mx.pfx.sim', 'bounce-later-fay@pfx.sim', '<kept@estafeta.test>');
    await deliver(sim, 'mx.pfx.sim', 'bounce-later-gus@pfx.sim', '<null@estafeta.test>', '');
    assert.equal(sim.outbox().length, 0, 'nothing before the delay');
    sim.flushAsync();
    await sim.settle();
    const [dsn, ...rest] = sim.outbox();
    assert.equal(rest.length, 0, 'a message sent with MAIL FROM:<> is never bounced');
    assert.equal(dsn.kind, 'dsn');
    assert.equal(dsn.to, 'bounce+42@estafeta.test');
    assert.equal(dsn.originalMessageId, '<kept@estafeta.test>');
    assert.equal(dsn.sentAt, null);
    assert.match(dsn.raw.toString(), /report-type=delivery-status/);
  } finally {
    await sim.stop();
  }
});

test('when the inbound listener is down the mail is retried until it comes up', async () => {
  // Reserve a free port, then release it: the listener starts there only later.
  const probe = createNetServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const sim = await startSimulator({ smtpPort: 0, profiles: PROFILES, inbound: { host: '127.0.0.1', port }, asyncDelayMs: 10 });
  let inbound: Awaited<ReturnType<typeof startInbound>> | null = null;
  try {
    await deliver(sim, 'mx.exm.sim', 'bounce-later-hal@exm.sim', '<retry@estafeta.test>');
    await until(() => sim.counts().async.scheduled === 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(sim.counts().async.sent, 0);
    inbound = await startInbound(port);
    const box = inbound;
    await until(() => box.arrived.length === 1, 4000);
    // The listener has the mail before the sender has read its 250: wait for the count too.
    await until(() => sim.counts().async.sent === 1, 4000);
    assert.equal(sim.counts().async.failed, 0);
  } finally {
    await sim.stop();
    await inbound?.close();
  }
});
