/**
 * SMTP submission's promise: a message answered 250 survives a crash. Estafeta runs as its
 * own process with no MX reachable; an application submits messages over STARTTLS with AUTH
 * (nodemailer, one pooled connection), and Estafeta is killed with kill -9 the moment the
 * last 250 arrives; restarted with an MX listening, it delivers every acknowledged message,
 * once each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { startSimDns } from '../src/sim/dns-server.ts';
import { createTestDatabaseUrl } from '../src/db/testing.ts';
import { fastRetryPolicyDir, waitFor } from './helpers/estafeta.ts';
import { freePort, startSink } from './helpers/smtp-sink.ts';
import { apiKeyFor, freeTcpPort, startChild } from './helpers/child.ts';

const MX = '127.0.3.59';
const ROLES = 'api,sender,mta,inbound,feedback,submission';

test('messages answered 250 by SMTP submission survive kill -9 and are delivered after a restart', { timeout: 120_000 }, async () => {
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'durable-smtp.test', type: 'MX', exchange: 'mx.durable-smtp.test', priority: 5 }, { name: 'mx.durable-smtp.test', type: 'A', address: MX }] });
  const db = await createTestDatabaseUrl();
  const submissionPort = await freeTcpPort();
  // A short lease, so the restarted process takes over what the killed one had claimed (the drain must stay under half of it).
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-submission-durable-'));
  writeFileSync(join(dir, 'estafeta.json'), JSON.stringify({ mta: { lease: '4s', drainTimeout: '1s' } }));
  const env = {
    DATABASE_URL: db.url,
    ESTAFETA_DNS_SERVERS: `127.0.0.1:${dns.port}`,
    ESTAFETA_MX_PORT: String(port),
    ESTAFETA_POLICY_DIR: fastRetryPolicyDir(),
    ESTAFETA_CONFIG: join(dir, 'estafeta.json'),
    ESTAFETA_SUBMISSION_PORT: String(submissionPort),
    ESTAFETA_SUBMISSION_TLS_DIR: dir,
  };
  const key = await apiKeyFor(db.url);
  let child = await startChild(env, key, ROLES);
  let sink: Awaited<ReturnType<typeof startSink>> | null = null;
  try {
    const stream = await child.api('POST', '/streams', { name: 'durable-smtp', fromDomains: ['app.test'] });
    assert.equal(stream.status, 201, JSON.stringify(stream.body));
    const cred = await child.api('POST', `/streams/${stream.body.id}/smtp-credentials`);
    assert.equal(cred.status, 201, JSON.stringify(cred.body));
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: submissionPort, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: cred.body.username, pass: cred.body.password }, pool: true, maxConnections: 1 });
    const acknowledged: string[] = [];
    for (let i = 0; i < 30; i++) {
      const info = await transport.sendMail({ from: 'no-reply@app.test', to: `r${i}@durable-smtp.test`, subject: `Code ${i}`, text: `Your code is ${i}` });
      assert.match(info.response, /^250 2\.0\.0 accepted for 1 of 1/);
      acknowledged.push(`r${i}@durable-smtp.test`);
    }
    // Killed at once after the last 250: nothing was given time to happen after it.
    await child.kill9();
    transport.close();

    sink = await startSink(MX, port);
    child = await startChild(env, key, ROLES);
    await waitFor('every acknowledged message delivered', async () => sink!.received.length >= acknowledged.length, 60_000, 300);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(new Set(sink.received.map((m) => m.to[0])), new Set(acknowledged));
    assert.equal(sink.received.length, acknowledged.length, 'nothing sent twice');
    const kpis = await waitFor('every log Sent', async () => {
      const k = (await child.api('GET', `/streams/${stream.body.id}/kpis`)).body;
      return k.sent === acknowledged.length ? k : null;
    }, 30_000, 300);
    assert.equal(kpis.targeted, acknowledged.length);
  } finally {
    await child.stop();
    await sink?.stop();
    await dns.stop();
    await db.cleanup();
  }
});
