/**
 * STARTTLS as the MX rules say, against real smtp-server peers on loopback: opportunistic
 * upgrades (the sink sees a TLS session, with its self-signed certificate accepted);
 * required defers the message with a clear reason when the server refuses STARTTLS or
 * presents a certificate that does not verify; disabled never upgrades.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimDns } from '../src/sim/dns-server.ts';
import { freePort, startSink, type Sink } from './helpers/smtp-sink.ts';
import { fastRetryPolicyDir, startTestEstafeta, waitFor } from './helpers/estafeta.ts';
import { deliveryLogs, startSmallDelivery } from './helpers/small-delivery.ts';

const MX = { opportunistic: '127.0.7.11', noStartTls: '127.0.7.12', badCert: '127.0.7.13', disabled: '127.0.7.14' };
type Name = keyof typeof MX;

test('STARTTLS: opportunistic upgrades, required defers without it or with a bad certificate, disabled stays in plain text', { timeout: 60_000 }, async () => {
  const port = await freePort(Object.values(MX));
  const names = Object.keys(MX) as Name[];
  const dns = await startSimDns({
    port: 0,
    records: names.flatMap((n) => [
      { name: `${n.toLowerCase()}.test`, type: 'MX' as const, exchange: `mx.${n.toLowerCase()}.test`, priority: 10 },
      { name: `mx.${n.toLowerCase()}.test`, type: 'A' as const, address: MX[n] },
    ]),
  });
  const sinks: Record<Name, Sink> = {
    opportunistic: await startSink(MX.opportunistic, port),
    noStartTls: await startSink(MX.noStartTls, port, () => null, { noStartTls: true }),
    // smtp-server's own certificate is self-signed (and expired): fine for opportunistic TLS, not for required.
    badCert: await startSink(MX.badCert, port),
    disabled: await startSink(MX.disabled, port),
  };
  const policyDir = fastRetryPolicyDir();
  writeFileSync(
    join(policyDir, 'mx-rules.yaml'),
    JSON.stringify({
      rules: [
        { name: 'tls-required', mx: ['mx.nostarttls.test', 'mx.badcert.test'], tls: 'required' },
        { name: 'tls-disabled', mx: ['mx.disabled.test'], tls: 'disabled' },
      ],
    }),
  );
  const estafeta = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port }, policy: { dir: policyDir } });
  try {
    const { id } = await startSmallDelivery(estafeta, { from: 'news@shop.example', recipients: names.map((n) => `someone@${n.toLowerCase()}.test`) });
    const logs = await waitFor(
      'every message delivered or deferred',
      async () => {
        const all = await deliveryLogs(estafeta, id);
        return all.every((l) => l.status === 'sent' || (l.reply && /TLS/.test(l.reply))) ? all : null;
      },
      30_000,
    );
    const log = (n: Name) => logs.find((l) => l.address === `someone@${n.toLowerCase()}.test`);

    assert.equal(log('opportunistic').status, 'sent');
    assert.equal(sinks.opportunistic.received.length, 1);
    assert.equal(sinks.opportunistic.received[0].tls, true, 'opportunistic STARTTLS upgraded the session');

    assert.equal(log('disabled').status, 'sent');
    assert.equal(sinks.disabled.received[0].tls, false, 'tls: disabled never upgrades, though the server offers STARTTLS');

    for (const n of ['noStartTls', 'badCert'] as const) {
      assert.equal(sinks[n].received.length, 0, `${n}: nothing sent in plain text`);
      assert.equal(log(n).status, 'taken', `${n}: deferred, not failed: ${log(n).reply}`);
      assert.equal(log(n).failureType, 'Soft');
    }
    assert.match(log('noStartTls').reply, /TLS is required but mx\.nostarttls\.test \[127\.0\.7\.12\]:\d+ does not offer STARTTLS \(it answered "5\d\d /);
    assert.match(log('badCert').reply, /TLS is required but .*mx\.badcert\.test \[127\.0\.7\.13\]:\d+: .*certificate/);
    const history = (await estafeta.api('GET', `/logs/${log('badCert').id}`)).body.history;
    assert.equal(history[0].type, 'deferred');
  } finally {
    await estafeta.stop();
    await Promise.all(Object.values(sinks).map((s) => s.stop()));
    await dns.stop();
  }
});
