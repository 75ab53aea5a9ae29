/**
 * The bulk-sender compliance gate inside a running Estafeta, through the API: the analysis
 * looks DNS up on the configured (loopback) server, a bulk delivery from a domain without
 * DMARC and with an http public URL gets errors that say so and cannot be confirmed, and one
 * from a domain that publishes SPF, DKIM and DMARC behind an https public URL gets none. The
 * bulk threshold is lowered to 3 recipients through the operator's policy file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimDns } from '../src/sim/dns-server.ts';
import { fastRetryPolicyDir, startTestEstafeta, type TestEstafeta } from './helpers/estafeta.ts';

type Line = { level: string; code: string; message: string };

async function analyzed(estafeta: TestEstafeta, from: string) {
  const created = await estafeta.api('POST', '/deliveries', {
    label: `gate ${from}`,
    from: { name: 'Shop', address: from },
    subject: 'Our news',
    text: 'Our news.\nUnsubscribe: {{ unsubscribeUrl }}',
    validity: '1h',
    recipients: [{ email: 'a@gate.test' }, { email: 'b@gate.test' }, { email: 'c@gate.test' }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const analysis = await estafeta.api('POST', `/deliveries/${created.body.id}/analyze`);
  assert.equal(analysis.status, 200, JSON.stringify(analysis.body));
  return { id: created.body.id as number, report: analysis.body as { errors: number; lines: Line[] } };
}

test('a bulk delivery without DMARC and with an http public URL is refused; a compliant one is not', { timeout: 60_000 }, async () => {
  const dns = await startSimDns({
    records: [
      { name: 'bounces.shop.test', type: 'TXT', data: 'v=spf1 ip4:127.0.0.1 -all' },
      { name: '_dmarc.shop.test', type: 'TXT', data: 'v=DMARC1; p=reject' },
    ],
  });
  const config = (publicUrl: string) => ({
    dns: { servers: [`127.0.0.1:${dns.port}`] },
    bounces: { domain: 'bounces.shop.test' },
    publicUrl,
    policy: { dir: fastRetryPolicyDir({ 'compliance.yaml': 'bulkRecipients: 3\n' }) },
  });
  try {
    const plain = await startTestEstafeta(config('http://estafeta.shop.test'));
    try {
      const { id, report } = await analyzed(plain, 'news@nodmarc.test');
      const errors = report.lines.filter((l) => l.level === 'error').map((l) => l.code);
      assert.deepEqual(errors.sort(), ['dkim-no-key', 'dmarc-missing', 'spf-not-aligned', 'unsubscribe-not-https'], JSON.stringify(report.lines, null, 1));
      assert.match(report.lines.find((l) => l.code === 'dmarc-missing')!.message, /nodmarc\.test has no DMARC record/);
      assert.match(report.lines.find((l) => l.code === 'unsubscribe-not-https')!.message, /not https \(http:\/\/estafeta\.shop\.test\)/);
      const confirm = await plain.api('POST', `/deliveries/${id}/confirm`);
      assert.ok(confirm.status >= 400 && confirm.status < 500, `confirmation refused: ${confirm.status} ${JSON.stringify(confirm.body)}`);
    } finally {
      await plain.stop();
    }

    const secure = await startTestEstafeta(config('https://estafeta.shop.test'));
    try {
      const key = await secure.api('POST', '/dkim/keys', { domain: 'shop.test', selector: 's1' });
      assert.equal(key.status, 201, JSON.stringify(key.body));
      dns.addRecords({ name: key.body.dns.name, type: 'TXT', data: key.body.dns.value });
      const good = await analyzed(secure, 'news@shop.test');
      assert.equal(good.report.errors, 0, JSON.stringify(good.report.lines, null, 1));
      const levels = Object.fromEntries(good.report.lines.map((l) => [l.code, l.level]));
      for (const code of ['bulk-sender', 'spf-aligned', 'dkim-aligned', 'dmarc', 'unsubscribe-one-click', 'ptr-not-configured', 'complaint-rate']) assert.equal(levels[code], 'info', code);
    } finally {
      await secure.stop();
    }
  } finally {
    await dns.stop();
  }
});
