import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSmtpReply } from '../mail/smtp-reply.ts';
import { startSimulator, type Simulator } from './index.ts';
import { TestSmtpClient, testMessage, type SmtpAnswer } from './test-client.ts';

/** "bigmail" with tight defences, "busymail" with a tight rate limit, "plain" without TLS. */
const PROFILES = {
  providers: [
    {
      name: 'bigmail',
      domains: ['bigmail.sim'],
      mxHosts: [{ name: 'mx1.bigmail.sim' }, { name: 'mx2.bigmail.sim' }],
      maxConnectionsPerIp: 2,
      greylist: { seconds: 1 },
      slowMs: 300,
      replies: {
        unknown: '550 5.1.1 The email account that you tried to reach does not exist.',
        tooManyConnections: '421 4.7.0 Too many connections from {ip}',
      },
    },
    {
      name: 'busymail',
      domains: ['busymail.sim'],
      mxHosts: [{ name: 'mx1.busymail.sim' }, { name: 'mx2.busymail.sim' }],
      rateLimit: { perSecond: 0.5, burst: 3 },
      replies: { rateLimited: '421 4.7.28 [{ip}] Our system has detected an unusual rate of unsolicited mail originating from your IP address.' },
    },
    { name: 'plain', domains: ['plain.sim'], mxHosts: [{ name: 'mx.plain.sim' }], tls: false, deferPercent: 50 },
  ],
};

async function withSim(fn: (sim: Simulator, mx: (name: string) => string) => Promise<void>) {
  const sim = await startSimulator({ smtpPort: 0, profiles: PROFILES, keepMessages: true });
  const mx = (name: string) => sim.mxHosts().find((h) => h.name === name)!.ip;
  try {
    await fn(sim, mx);
  } finally {
    await sim.stop();
  }
}

async function open(sim: Simulator, host: string, from = '127.0.0.2'): Promise<TestSmtpClient> {
  const c = await TestSmtpClient.connect({ host, port: sim.smtpPort, localAddress: from, name: 'out1.estafeta.test' });
  assert.ok(c instanceof TestSmtpClient, `connection refused: ${JSON.stringify(c)}`);
  return c;
}

async function until(check: () => boolean, ms = 2000) {
  for (const end = Date.now() + ms; !check(); ) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('accepts a message from a sending IP and counts it per domain, recipient and connection', () =>
  withSim(async (sim, mx) => {
    const c = await open(sim, mx('mx1.bigmail.sim'));
    const a = await c.send('bounce+1@estafeta.test', ['alice@bigmail.sim'], testMessage('<m1@estafeta.test>', 'Hello'));
    assert.equal(a.ok, true);
    assert.match(a.response, /^250 2\.0\.0 Ok: queued as [0-9A-F]+$/);
    const counts = sim.counts();
    assert.equal(counts.totals.messages, 1);
    assert.equal(counts.byDomain['bigmail.sim'].received, 1);
    assert.deepEqual(sim.recipient('alice@bigmail.sim'), { received: 1, deferred: 0, rejected: 0 });
    assert.deepEqual(counts.connections.byMxHost, [{ ip: '127.0.0.2', mxHost: 'mx1.bigmail.sim', provider: 'bigmail', opened: 1, refused: 0, maxConcurrent: 1 }]);
    const [kept] = sim.messages();
    assert.equal(kept.messageId, '<m1@estafeta.test>');
    assert.equal(kept.sendingIp, '127.0.0.2');
    assert.equal(kept.heloName, 'out1.estafeta.test');
    assert.equal(kept.mailFrom, 'bounce+1@estafeta.test');

    // A second delivery to the same recipient is what "one message per recipient" checks catch.
    assert.equal(counts.recipients.receivedMoreThanOnce, 0);
    await c.send('bounce+2@estafeta.test', ['alice@bigmail.sim'], testMessage('<m2@estafeta.test>'));
    assert.equal(sim.counts().recipients.receivedMoreThanOnce, 1);
    assert.deepEqual(sim.counts().recipients.examplesReceivedMoreThanOnce, ['alice@bigmail.sim']);
    c.quit();
  }));

test("refuses recipients with the provider's replies, by fate", () =>
  withSim(async (sim, mx) => {
    const c = await open(sim, mx('mx1.bigmail.sim'), '127.0.0.5');
    const send = (to: string) => c.send('b@estafeta.test', [to], testMessage(`<${to}>`));
    assert.equal((await send('unknown-bob@bigmail.sim')).response, '550 5.1.1 The email account that you tried to reach does not exist.');
    assert.match((await send('full-bob@bigmail.sim')).response, /^452 4\.2\.2 /);
    assert.match((await send('overquota-bob@bigmail.sim')).response, /^552 5\.2\.2 /);
    assert.match((await send('disabled-bob@bigmail.sim')).response, /^550 5\.2\.1 /);
    // Spam is judged on content: refused at the end of DATA, not at RCPT.
    const spam = await send('spam-bob@bigmail.sim');
    assert.match(spam.response, /^554 5\.7\.1 /);
    assert.match((await send('defer-bob@bigmail.sim')).response, /^451 4\.3\.0 /);
    assert.match((await send('carol@plain.sim')).response, /^554 5\.7\.1 <carol@plain\.sim>: Relay access denied/);
    c.quit();
    const t = sim.counts().byDomain['bigmail.sim'];
    assert.deepEqual(t.byReason, { unknown: 1, full: 1, overquota: 1, disabled: 1, spam: 1, deferred: 1 });
    assert.equal(t.rejected, 4);
    assert.equal(t.deferred, 2);
    assert.equal(t.received, 0);
  }));

test('past the rate per sending IP the provider answers 421 and closes; other IPs still pass', () =>
  withSim(async (sim, mx) => {
    const c = await open(sim, mx('mx1.busymail.sim'), '127.0.0.2');
    const answers: SmtpAnswer[] = [];
    for (let i = 0; i < 4; i++) answers.push(await c.send('b@estafeta.test', [`r${i}@busymail.sim`], testMessage(`<r${i}@x>`)));
    assert.deepEqual(answers.map((a) => a.code), [250, 250, 250, 421]);
    assert.equal(answers[3].response, '421 4.7.28 [127.0.0.2] Our system has detected an unusual rate of unsolicited mail originating from your IP address.');
    await until(() => c.closed);
    const other = await open(sim, mx('mx2.busymail.sim'), '127.0.0.3');
    assert.equal((await other.send('b@estafeta.test', ['r9@busymail.sim'], testMessage('<r9@x>'))).code, 250);
    other.quit();
    assert.equal(sim.counts().byProvider.busymail.byReason.rateLimited, 1);
  }));

test('greylisting refuses a new (IP, sender, recipient) until its delay has passed', () =>
  withSim(async (sim, mx) => {
    const c = await open(sim, mx('mx1.bigmail.sim'), '127.0.0.4');
    const send = (from: string) => c.send(from, ['grey-bob@bigmail.sim'], testMessage('<g@x>'));
    const first = await send('b@estafeta.test');
    assert.match(first.response, /^451 4\.7\.1 /);
    assert.equal((await send('b@estafeta.test')).code, 451, 'an early retry is still refused');
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await send('b@estafeta.test')).code, 250);
    assert.equal((await send('other@estafeta.test')).code, 451, 'another sender is a new triplet');
    c.quit();
    assert.deepEqual(sim.recipient('grey-bob@bigmail.sim'), { received: 1, deferred: 3, rejected: 0 });
  }));

test('connections past the per-IP limit get 421, counted across the MX hosts of a provider', () =>
  withSim(async (sim, mx) => {
    const c1 = await open(sim, mx('mx1.bigmail.sim'));
    const c2 = await open(sim, mx('mx2.bigmail.sim'));
    const refused = await TestSmtpClient.connect({ host: mx('mx1.bigmail.sim'), port: sim.smtpPort, localAddress: '127.0.0.2' });
    assert.ok(!(refused instanceof TestSmtpClient));
    assert.equal(refused.code, 421);
    assert.match(refused.response, /421 4\.7\.0 Too many connections from 127\.0\.0\.2/);
    const fromOtherIp = await open(sim, mx('mx1.bigmail.sim'), '127.0.0.3');
    c1.quit();
    // Closing one frees a slot (the server notices the close asynchronously).
    let again: Awaited<ReturnType<typeof TestSmtpClient.connect>> | null = null;
    for (let i = 0; i < 50 && !(again instanceof TestSmtpClient); i++) {
      again = await TestSmtpClient.connect({ host: mx('mx1.bigmail.sim'), port: sim.smtpPort, localAddress: '127.0.0.2' }).catch(() => null);
      if (!(again instanceof TestSmtpClient)) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(again instanceof TestSmtpClient);
    const p = sim.counts().connections.byProvider.find((x) => x.ip === '127.0.0.2')!;
    assert.equal(p.maxConcurrent, 2);
    assert.equal(p.limit, 2);
    assert.ok(p.refused >= 1);
    for (const c of [c2, fromOtherIp, again]) c.quit();
  }));

test('slow recipients are answered late; drop- recipients lose the connection without an answer', () =>
  withSim(async (sim, mx) => {
    const c = await open(sim, mx('mx1.bigmail.sim'), '127.0.0.6');
    const started = Date.now();
    assert.equal((await c.send('b@estafeta.test', ['slow-bob@bigmail.sim'], testMessage('<s@x>'))).code, 250);
    // slowMs (300) before the RCPT answer and again before the DATA answer.
    assert.ok(Date.now() - started >= 550, `took ${Date.now() - started} ms`);
    const dropped = await c.send('b@estafeta.test', ['drop-bob@bigmail.sim'], testMessage('<d@x>'));
    assert.equal(dropped.code, 0);
    await until(() => c.closed);
    assert.equal(sim.counts().byDomain['bigmail.sim'].byReason.dropped, 1);
  }));

test('random deferrals are per attempt, so a retry can pass', () =>
  withSim(async (sim, mx) => {
    const c = await open(sim, mx('mx.plain.sim'), '127.0.0.7');
    let address = '';
    for (let i = 0; !address; i++) {
      const a = await c.send('b@estafeta.test', [`u${i}@plain.sim`], testMessage('<p@x>'));
      if (a.code === 451) address = `u${i}@plain.sim`;
    }
    let tries = 1;
    while ((await c.send('b@estafeta.test', [address], testMessage('<p@x>'))).code !== 250) assert.ok(++tries < 30);
    assert.equal(sim.recipient(address)!.received, 1);
    assert.equal(sim.recipient(address)!.deferred, tries);
    c.quit();
  }));

test('STARTTLS is offered where the profile says so, and not elsewhere', () =>
  withSim(async (sim, mx) => {
    const tls = await open(sim, mx('mx1.bigmail.sim'), '127.0.0.8');
    assert.equal(tls.secure, true);
    await tls.send('b@estafeta.test', ['t@bigmail.sim'], testMessage('<t@x>'));
    const plain = await open(sim, mx('mx.plain.sim'), '127.0.0.8');
    assert.equal(plain.secure, false);
    assert.ok(!plain.extensions.includes('STARTTLS'));
    tls.quit();
    plain.quit();
    assert.equal(sim.messages()[0].tls, true);
  }));

test('the shipped Gmail-like profile answers in multi-line replies, as Gmail does', async () => {
  const sim = await startSimulator({ smtpPort: 0 });
  try {
    const gmail = sim.mxHosts().find((h) => h.provider === 'gmail')!;
    const c = await open(sim, gmail.ip, '127.0.0.9');
    const answer = await c.send('b@estafeta.test', ['unknown-zoe@gmail.sim'], testMessage('<ml@x>'));
    c.quit();
    const lines = answer.response.split(/\r?\n/);
    assert.ok(lines.length > 1, answer.response);
    lines.slice(0, -1).forEach((l) => assert.match(l, /^550-5\.1\.1 /));
    assert.match(lines.at(-1)!, /^550 5\.1\.1 .*NoSuchUser [0-9A-F]+ - gsmtp$/);
    assert.deepEqual(
      (({ code, enhanced }) => ({ code, enhanced }))(parseSmtpReply(answer.response)),
      { code: 550, enhanced: '5.1.1' },
    );
  } finally {
    await sim.stop();
  }
});
