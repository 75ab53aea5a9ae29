/**
 * DKIM end to end: keys created through the API (an RSA-2048 and an Ed25519 selector for
 * one sender domain), a delivery sent by Estafeta's own MTA to an smtp-server MX, and every
 * message as received verified by python3-dkim with the DNS records the API says to
 * publish. Deactivating a key takes it off the next delivery; a tampered body fails; the
 * analysis warns about a sender domain without a key; keys are admin business, and the API
 * and CLI never show a private key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startSimDns } from '../src/sim/dns-server.ts';
import { createApiKey } from '../src/auth/index.ts';
import { freePort, startSink } from './helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor } from './helpers/estafeta.ts';
import { startSmallDelivery } from './helpers/small-delivery.ts';
import { pythonDkimMissing, verifyWithPythonDkim, type TxtRecords } from './helpers/dkim-verifiers.ts';

const MX = '127.0.6.11';
const run = promisify(execFile);

test('the MTA signs with every active key of the From domain, and python3-dkim verifies what arrived', { skip: pythonDkimMissing() ?? false, timeout: 90_000 }, async () => {
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'dkim.test', type: 'MX', exchange: 'mx.dkim.test', priority: 10 }, { name: 'mx.dkim.test', type: 'A', address: MX }] });
  const sink = await startSink(MX, port);
  const estafeta = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port } });
  try {
    const { api } = estafeta;
    const viewer = (await createApiKey(estafeta.app.db.kysely, { name: 'dkim-viewer', role: 'viewer', createdBy: 'test' })).key;
    const denied = await estafeta.as(viewer)('POST', '/dkim/keys', { domain: 'shop.example', selector: 'x' });
    assert.equal(denied.status, 403, 'a viewer cannot create keys');

    const rsa = await api('POST', '/dkim/keys', { domain: 'shop.example', selector: 'r2026' });
    assert.equal(rsa.status, 201, JSON.stringify(rsa.body));
    const ed = await api('POST', '/dkim/keys', { domain: 'shop.example', selector: 'e2026', algorithm: 'ed25519-sha256' });
    assert.equal(ed.status, 201, JSON.stringify(ed.body));
    const again = await api('POST', '/dkim/keys', { domain: 'shop.example', selector: 'r2026' });
    assert.equal(again.status, 409);
    assert.match(again.body.error.message, /already has a key with selector "r2026"/);
    const bad = await api('POST', '/dkim/keys', { domain: 'shop.example', selector: 's1', privateKey: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'INVALID_INPUT');

    const listed = await estafeta.as(viewer)('GET', '/dkim/keys');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.keys.map((k: { selector: string; algorithm: string }) => [k.selector, k.algorithm]), [['r2026', 'rsa-sha256'], ['e2026', 'ed25519-sha256']]);
    assert.ok(!/PRIVATE KEY|privateKey/.test(JSON.stringify(listed.body)), 'the API never shows a private key');
    const records: TxtRecords = Object.fromEntries(listed.body.keys.map((k: { dns: { name: string; value: string } }) => [k.dns.name, k.dns.value]));

    // The analysis warns when the sender domain has no key, and only then.
    const unsigned = await startSmallDelivery(estafeta, { from: 'news@nokey.example', recipients: ['a@dkim.test'], analyzeOnly: true });
    assert.match(unsigned.report.lines.find((l: { code: string }) => l.code === 'dkim-no-key')?.message ?? '', /No active DKIM key for nokey\.example/);

    const first = await startSmallDelivery(estafeta, { from: 'news@shop.example', recipients: ['u1@dkim.test', 'u2@dkim.test', 'u3@dkim.test'] });
    assert.ok(!first.report.lines.some((l: { code: string }) => l.code === 'dkim-no-key'));
    await waitFor('3 messages at the MX', async () => sink.received.length >= 3, 30_000);
    for (const m of sink.received) {
      assert.equal(m.raw.toString('latin1').match(/^DKIM-Signature:/gm)?.length, 2);
      assert.deepEqual(verifyWithPythonDkim(m.raw, records), [true, true], `${m.to[0]}: both selectors verify`);
    }
    const tampered = Buffer.from(sink.received[0].raw.toString('latin1').replace('Our news.', 'Our NEWS.'), 'latin1');
    assert.ok(verifyWithPythonDkim(tampered, records).every((v) => v !== true), 'a tampered body fails');

    // Rotation: the Ed25519 key is deactivated, the next delivery carries the RSA signature only.
    const off = await api('POST', `/dkim/keys/${ed.body.id}/deactivate`);
    assert.equal(off.status, 200);
    assert.equal(off.body.active, false);
    // The CLI lists the same keys through the API (it runs while the second delivery goes out).
    const cli = run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--api', estafeta.app.url!, '--api-key', estafeta.adminKey, 'dkim', 'list', '--json'], { encoding: 'utf8' });
    await startSmallDelivery(estafeta, { from: 'news@shop.example', recipients: ['u4@dkim.test'] });
    await waitFor('the fourth message', async () => sink.received.length >= 4, 30_000);
    const last = sink.received[3].raw;
    assert.match(last.toString('latin1'), /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=shop\.example; s=r2026;/);
    assert.deepEqual(verifyWithPythonDkim(last, records), [true]);

    const { stdout } = await cli;
    assert.deepEqual(JSON.parse(stdout).map((k: { selector: string; active: boolean }) => [k.selector, k.active]), [['r2026', true], ['e2026', false]]);
    assert.ok(!stdout.includes('PRIVATE KEY'), 'nor does the CLI');
    const removed = await api('DELETE', `/dkim/keys/${ed.body.id}`);
    assert.equal(removed.status, 204);
    assert.equal((await api('GET', `/dkim/keys/${ed.body.id}`)).status, 404);
  } finally {
    await estafeta.stop();
    await sink.stop();
    await dns.stop();
  }
});
