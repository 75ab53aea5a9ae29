/**
 * Live updates across processes: one Estafeta runs only the API (and so the dashboard's
 * event streams), another runs the sender, the MTA and the feedback service; they share
 * nothing but the database (PostgreSQL when DATABASE_URL says so, else one SQLite file).
 * The API's delivery stream still shows every state change and the KPIs as they move,
 * because it reads them from the database rather than from in-process signals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../src/config/index.ts';
import { startEstafeta, type App } from '../src/app/start.ts';
import { createApiKey } from '../src/auth/index.ts';
import { createTestDatabaseUrl } from '../src/db/testing.ts';
import { silentLogger } from '../src/lib/logger.ts';
import { startSimDns } from '../src/sim/dns-server.ts';
import { fastRetryPolicyDir, TEST_ADMIN_PASSWORD } from './helpers/estafeta.ts';
import { freePort, startSink } from './helpers/smtp-sink.ts';

const MX = '127.0.4.21';

test('the API process streams state and KPIs changed by sender, MTA and feedback in another process', { timeout: 60_000 }, async () => {
  const database = await createTestDatabaseUrl();
  const port = await freePort([MX]);
  const dns = await startSimDns({ port: 0, records: [{ name: 'split.test', type: 'MX', exchange: 'mx.split.test', priority: 10 }, { name: 'mx.split.test', type: 'A', address: MX }] });
  const sink = await startSink(MX, port);
  process.env.ESTAFETA_ADMIN_PASSWORD ??= TEST_ADMIN_PASSWORD;
  const base = { database: { url: database.url }, log: { level: 'silent' }, policy: { dir: fastRetryPolicyDir() }, dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port, heloName: 'estafeta.test' } };
  const apps: App[] = [];
  const ac = new AbortController();
  try {
    const api = await startEstafeta(configSchema.parse({ ...base, roles: ['api'], http: { host: '127.0.0.1', port: 0 } }), { logger: silentLogger });
    apps.push(api);
    apps.push(await startEstafeta(configSchema.parse({ ...base, roles: ['sender', 'mta', 'feedback'] }), { logger: silentLogger }));
    const key = (await createApiKey(api.db.kysely, { name: 'split', role: 'operator', createdBy: 'test' })).key;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${api.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
      return res.json();
    };
    const recipients = Array.from({ length: 30 }, (_, i) => ({ email: `r${i}@split.test` }));
    const d = await call('POST', '/deliveries', { label: 'Split', from: { address: 'news@shop.example' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', recipients });
    await call('POST', `/deliveries/${d.id}/analyze`);

    const seen: { state: string; sent: number; at: number }[] = [];
    const res = await fetch(`${api.url}/api/v1/deliveries/${d.id}/stream`, { headers: { authorization: `Bearer ${key}` }, signal: ac.signal });
    const reader = res.body!.getReader();
    void (async () => {
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += Buffer.from(value).toString('utf8');
        let i;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const data = /^data: (.*)$/m.exec(buffer.slice(0, i))?.[1];
          buffer = buffer.slice(i + 2);
          if (data) {
            const m = JSON.parse(data);
            seen.push({ state: m.delivery.state, sent: m.kpis.sent, at: Date.now() });
          }
        }
      }
    })().catch(() => {});

    const confirmedAt = Date.now();
    assert.equal((await call('POST', `/deliveries/${d.id}/confirm`)).state, 'start-pending');
    const until = Date.now() + 40_000;
    while (!seen.some((s) => s.state === 'finished' && s.sent === 30) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const states = [...new Set(seen.map((s) => s.state))];
    assert.ok(seen.some((s) => s.state === 'finished' && s.sent === 30), `stream saw: ${JSON.stringify(seen.map((s) => [s.state, s.sent]))}`);
    assert.deepEqual(states.slice(0, 1), ['pending-confirmation']);
    const finished = seen.find((s) => s.state === 'finished')!;
    assert.equal(sink.received.length, 30);
    // Seen on the stream within two seconds of the sending side finishing.
    const row = await api.db.kysely.selectFrom('deliveries').select('finished_at').where('id', '=', d.id).executeTakeFirstOrThrow();
    assert.ok(finished.at - Number(row.finished_at) < 2000, `finished at ${row.finished_at}, streamed at ${finished.at}`);
    assert.ok(finished.at > confirmedAt);
  } finally {
    ac.abort();
    for (const app of apps.reverse()) await app.stop();
    await sink.stop();
    await dns.stop();
    await database.cleanup();
  }
});
