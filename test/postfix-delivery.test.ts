/**
 * Postfix from Debian as the receiving MTA: a private instance on a loopback port offering
 * STARTTLS with a self-signed certificate; Estafeta's MTA delivers a small DKIM-signed
 * delivery to it. Postfix's own log must say the TLS connection was established and the
 * messages were delivered to the mailbox, and the DKIM signature must still verify in the
 * delivered copies (python3-dkim), after Postfix added its trace headers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimDns } from '../src/sim/dns-server.ts';
import { freePort } from './helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor } from './helpers/estafeta.ts';
import { deliveryLogs, startSmallDelivery } from './helpers/small-delivery.ts';
import { POSTFIX_HOST, postfixMissing, startPostfix, type PostfixInstance } from './helpers/postfix.ts';
import { pythonDkimMissing, verifyWithPythonDkim } from './helpers/dkim-verifiers.ts';

test('Estafeta delivers to Postfix over STARTTLS, and Postfix logs TLS and the delivery', { skip: postfixMissing() ?? false, timeout: 90_000 }, async (t) => {
  const port = await freePort([POSTFIX_HOST]);
  let postfix: PostfixInstance | null = null;
  const dns = await startSimDns({ port: 0, records: [{ name: 'postfix.test', type: 'MX', exchange: 'mx.postfix.test', priority: 10 }, { name: 'mx.postfix.test', type: 'A', address: POSTFIX_HOST }] });
  try {
    postfix = await startPostfix({ port, domain: 'postfix.test', hostname: 'mx.postfix.test' });
    const estafeta = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port } });
    try {
      const key = await estafeta.api('POST', '/dkim/keys', { domain: 'shop.example', selector: 'pf', algorithm: 'ed25519-sha256' });
      assert.equal(key.status, 201);
      const { id } = await startSmallDelivery(estafeta, { from: 'news@shop.example', recipients: ['ana@postfix.test', 'bruno@postfix.test'] });
      const logs = await waitFor('both logs Sent', async () => {
        const all = await deliveryLogs(estafeta, id);
        return all.every((l) => l.status === 'sent') ? all : null;
      }, 30_000);
      for (const l of logs) assert.match(l.reply, /^250 2\.0\.0 Ok: queued as [0-9A-Za-z]+/, 'Postfix queued it');

      const pf = postfix;
      const log = await waitFor('Postfix to deliver both messages', async () => ((pf.log().match(/status=sent \(delivered to mailbox\)/g) ?? []).length >= 2 ? pf.log() : null), 20_000);
      assert.match(log, /postfix\/smtpd\[\d+\]: Anonymous TLS connection established from [^\n]*\[127\.0\.0\.1\]: TLSv1\.[23]/);
      assert.match(log, /to=<ana@postfix\.test>, relay=virtual, [^\n]*status=sent \(delivered to mailbox\)/);
      assert.match(log, /to=<bruno@postfix\.test>, relay=virtual, [^\n]*status=sent \(delivered to mailbox\)/);
      assert.doesNotMatch(log, /warning: TLS library problem/);

      // The mailbox holds both messages, DKIM intact past Postfix's Return-Path/Received headers.
      const messages = postfix.mailbox().split(/^From [^\n]*\n/m).filter(Boolean);
      assert.equal(messages.length, 2);
      assert.match(messages[0], /^Subject: Hello Name[01]$/m);
      assert.match(messages[0], /^Received: from estafeta\.test [^\n]*\n\tby mx\.postfix\.test \(Postfix\) with ESMTPS /m, 'ESMTPS: received over TLS');
      const pythonMissing = pythonDkimMissing();
      if (pythonMissing) t.diagnostic(`DKIM not checked: ${pythonMissing}`);
      else {
        const records = { [key.body.dns.name]: key.body.dns.value };
        // The mailbox stores LF line ends; the message travelled (and was signed) with CRLF.
        for (const m of messages) assert.deepEqual(verifyWithPythonDkim(Buffer.from(m.replace(/\r?\n/g, '\r\n'), 'latin1'), records), [true]);
      }
    } finally {
      await estafeta.stop();
    }
    // Postfix summarizes a session when it ends (Estafeta keeps idle connections a while, and
    // closes them when it stops): EHLO, STARTTLS, EHLO again, then the mail.
    const pf = postfix;
    await waitFor('the session summary', async () => /disconnect from [^\n]* ehlo=2 starttls=1 mail=\d+ rcpt=\d+ data=\d+/.test(pf.log()), 10_000);
  } finally {
    postfix?.stop();
    await dns.stop();
  }
});
