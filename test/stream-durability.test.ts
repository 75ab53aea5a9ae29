/**
 * The send API's promise: a message it answered for survives a crash. Estafeta runs as its
 * own process (without the MTA role), takes a batch of messages through POST
 * /messages/batch, and is killed with kill -9 the moment the answer arrives; restarted with
 * every role and an MX listening, it delivers every answered message, once each, and their
 * logs turn Sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimDns } from '../src/sim/dns-server.ts';
import { createTestDatabaseUrl } from '../src/db/testing.ts';
import { fastRetryPolicyDir, waitFor } from './helpers/estafeta.ts';
import { freePort, startSink } from './helpers/smtp-sink.ts';
import { apiKeyFor, startChild } from './helpers/child.ts';

const MX = '127.0.3.58';

test('messages the send API answered for survive kill -9 and are delivered after a restart', { timeout: 120_000 }, async () => {
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'durable-api.test', type: 'MX', exchange: 'mx.durable-api.test', priority: 5 }, { name: 'mx.durable-api.test', type: 'A', address: MX }] });
  const db = await createTestDatabaseUrl();
  const env = { DATABASE_URL: db.url, ESTAFETA_DNS_SERVERS: `127.0.0.1:${dns.port}`, ESTAFETA_MX_PORT: String(port), ESTAFETA_POLICY_DIR: fastRetryPolicyDir() };
  const key = await apiKeyFor(db.url);
  // The first process takes messages but runs no MTA, so none is leased when it dies (a dead
  // MTA's leases run out after mta.lease, which durability.test.ts covers): what is tested is
  // that an answered message is in the spool.
  let child = await startChild(env, key, 'api,sender,inbound,feedback');
  let sink: Awaited<ReturnType<typeof startSink>> | null = null;
  try {
    const stream = await child.api('POST', '/streams', { name: 'durable', fromDomains: ['app.test'] });
    assert.equal(stream.status, 201, JSON.stringify(stream.body));
    const messages = Array.from({ length: 200 }, (_, i) => ({ stream: 'durable', from: 'no-reply@app.test', to: [`r${i}@durable-api.test`], subject: `Code ${i}`, text: `Your code is ${i}` }));
    const sent = await child.api('POST', '/messages/batch', { messages });
    // Killed at once: nothing was given time to happen after the answer.
    await child.kill9();
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    assert.equal(sent.body.accepted, 200);

    sink = await startSink(MX, port);
    child = await startChild(env, key);
    await waitFor('every answered message delivered', async () => sink!.received.length >= 200, 60_000, 300);
    const kpis = await waitFor('every log Sent', async () => {
      const k = (await child.api('GET', `/streams/${stream.body.id}/kpis`)).body;
      return k.sent === 200 ? k : null;
    }, 30_000, 300);
    assert.equal(kpis.targeted, 200);
    assert.equal(new Set(sink.received.map((m) => m.to[0])).size, 200);
    assert.equal(sink.received.length, 200, 'nothing sent twice');
    assert.equal((await child.api('GET', `/streams/${stream.body.id}`)).body.state, 'in-progress', 'a stream never finishes');
  } finally {
    await child.stop();
    await sink?.stop();
    await dns.stop();
    await db.cleanup();
  }
});
