/**
 * End to end: a delivery of 1,000 personalized recipients created, imported, analyzed and
 * confirmed through the HTTP API, sent by Estafeta's own MTA through real SMTP sockets to
 * smtp-server MX hosts found through a real DNS server on loopback. One MX accepts
 * everything, one refuses some recipients with 550 5.1.1, one greylists (451 first, then
 * accepts); some domains have no MX and no host. Checks every delivery log, the KPIs, the
 * exclusions, and the messages as received. Runs on SQLite, or on PostgreSQL when
 * DATABASE_URL is set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PostalMime from 'postal-mime';
import { startSimDns, type SimDns } from '../src/sim/dns-server.ts';
import { freePort, startSink, type Sink } from './helpers/smtp-sink.ts';
import { startTestEstafeta, waitFor, type TestEstafeta } from './helpers/estafeta.ts';
import { QuarantineStatus } from '../src/quarantine/index.ts';

const MX = { accept: '127.0.3.11', reject: '127.0.3.12', grey: '127.0.3.13' };

interface World {
  dns: SimDns;
  sinks: Record<keyof typeof MX, Sink>;
  estafeta: TestEstafeta;
}

async function startWorld(): Promise<World> {
  const port = await freePort(Object.values(MX));
  const dns = await startSimDns({
    port: 0,
    records: [
      { name: 'accept.test', type: 'MX', exchange: 'mx.accept.test', priority: 10 },
      { name: 'mx.accept.test', type: 'A', address: MX.accept },
      // A second domain on the same MX host: the same site.
      { name: 'accept2.test', type: 'MX', exchange: 'mx.accept.test', priority: 10 },
      { name: 'reject.test', type: 'MX', exchange: 'mx.reject.test', priority: 10 },
      { name: 'mx.reject.test', type: 'A', address: MX.reject },
      { name: 'grey.test', type: 'MX', exchange: 'mx.grey.test', priority: 10 },
      { name: 'mx.grey.test', type: 'A', address: MX.grey },
    ],
    emptyNames: ['nomx.test'],
  });
  const seen = new Set<string>();
  const sinks = {
    accept: await startSink(MX.accept, port),
    reject: await startSink(MX.reject, port, (rcpt) => (rcpt.startsWith('unknown') ? { code: 550, text: `5.1.1 <${rcpt}>: Recipient address rejected: User unknown in virtual mailbox table` } : null)),
    grey: await startSink(MX.grey, port, (rcpt) => {
      if (seen.has(rcpt)) return null;
      seen.add(rcpt);
      return { code: 451, text: '4.7.1 Greylisted, please try again later' };
    }),
  };
  const estafeta = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port } });
  return { dns, sinks, estafeta };
}

async function stopWorld(w: World): Promise<void> {
  await w.estafeta.stop();
  await Promise.all(Object.values(w.sinks).map((s) => s.stop()));
  await w.dns.stop();
}

/** 1,000 data rows plus recipients the analysis must exclude. */
function buildCsv(): { csv: string; expected: Map<string, string> } {
  const rows = ['email,firstName,city'];
  const expected = new Map<string, string>();
  const add = (email: string, fate: string, first = 'Ana', city = 'Lisboa') => {
    rows.push(`${email},${first},${city}`);
    if (email) expected.set(email, fate);
  };
  for (let i = 0; i < 600; i++) add(`user${i}@accept.test`, 'sent', `Name${i}`);
  for (let i = 0; i < 100; i++) add(`other${i}@accept2.test`, 'sent', `Other${i}`);
  for (let i = 0; i < 100; i++) add(`fine${i}@reject.test`, 'sent');
  for (let i = 0; i < 50; i++) add(`unknown${i}@reject.test`, 'user-unknown');
  for (let i = 0; i < 100; i++) add(`grey${i}@grey.test`, 'sent-after-retry');
  for (let i = 0; i < 25; i++) add(`someone${i}@nomx.test`, 'invalid-domain');
  for (let i = 0; i < 25; i++) add(`someone${i}@nxdomain.test`, 'invalid-domain');
  // Excluded at analysis, with Campaign's reasons.
  add('', 'none');
  add('not-an-address', 'bad-quality');
  add('USER1@ACCEPT.test', 'double');
  add('quarantined@accept.test', 'quarantine');
  add('denied@accept.test', 'denylisted');
  return { csv: rows.join('\n') + '\n', expected };
}

test('a delivery of 1,000 recipients is analyzed, sent and fully accounted for', { timeout: 180_000 }, async () => {
  const w = await startWorld();
  try {
    const { estafeta } = w;
    const db = estafeta.app.db.kysely;
    const now = Date.now();
    await db
      .insertInto('quarantine')
      .values([
        { address: 'quarantined@accept.test', domain: 'accept.test', status: QuarantineStatus.Quarantine, failure_type: 2, error_count: 1, created_at: now, updated_at: now },
        { address: 'denied@accept.test', domain: 'accept.test', status: QuarantineStatus.Denylisted, failure_type: 2, error_count: 0, created_at: now, updated_at: now },
      ])
      .execute();

    const created = await estafeta.api('POST', '/deliveries', {
      label: 'Autumn sale',
      from: { name: 'Tienda Española', address: 'news@shop.example' },
      replyTo: 'care@shop.example',
      subject: 'Hello {{ firstName }}, autumn offers',
      html: '<h1>Hello {{ firstName }}</h1><p>News for {{ city }}.</p><a href="{{ unsubscribeUrl }}">Unsubscribe</a>',
      text: 'Hello {{ firstName }}\nNews for {{ city }}.\nUnsubscribe: {{ unsubscribeUrl }}',
      validity: '1h',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    assert.equal(created.body.state, 'being-edited');
    assert.equal(created.body.kpis.successPercent, 0);

    const { csv, expected } = buildCsv();
    const imported = await estafeta.api('PUT', `/deliveries/${id}/recipients`, csv, 'text/csv');
    assert.equal(imported.status, 200, JSON.stringify(imported.body));
    assert.equal(imported.body.recipients, 1005);

    // Confirming before the analysis is refused.
    const early = await estafeta.api('POST', `/deliveries/${id}/confirm`);
    assert.equal(early.status, 409);
    assert.match(early.body.error.message, /cannot confirm a delivery that is "Being edited"/);

    const analysis = await estafeta.api('POST', `/deliveries/${id}/analyze`);
    assert.equal(analysis.status, 200, JSON.stringify(analysis.body));
    const report = analysis.body;
    assert.equal(report.counts.targeted, 1005);
    assert.equal(report.counts.toDeliver, 1000);
    assert.deepEqual(report.counts.excludedByReason, {
      'Address not specified': 1,
      'Bad-quality address': 1,
      Double: 1,
      'Address in quarantine': 1,
      'Denylisted address': 1,
    });
    assert.equal(report.errors, 0, JSON.stringify(report.lines));
    assert.ok(report.lines.some((l: { code: string }) => l.code === 'subject-special-characters') === false);

    const confirmed = await estafeta.api('POST', `/deliveries/${id}/confirm`);
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    assert.equal(confirmed.body.state, 'start-pending');

    const finished = await waitFor(
      'the delivery to finish',
      async () => {
        const d = await estafeta.api('GET', `/deliveries/${id}`);
        return d.body.state === 'finished' ? d.body : null;
      },
      120_000,
      250,
    );

    // KPIs follow the seed's table.
    const k = finished.kpis;
    assert.equal(k.toDeliver, 1000);
    assert.equal(k.sent, 900);
    assert.equal(k.failed, 100);
    assert.equal(k.processed, 1000);
    assert.equal(k.pending, 0);
    assert.equal(k.takenIntoAccount, 0);
    assert.equal(k.successPercent, 90);
    assert.deepEqual(k.failuresByReason, { 'User unknown': 50, 'Invalid domain': 50 });
    const tp = (await estafeta.api('GET', `/deliveries/${id}/throughput`)).body.points;
    assert.equal(tp.reduce((a: number, p: { sent: number }) => a + p.sent, 0), 900);
    assert.equal(tp.reduce((a: number, p: { failed: number }) => a + p.failed, 0), 100);
    const failures = (await estafeta.api('GET', `/deliveries/${id}/failures`)).body;
    assert.equal(failures.total, 100);
    assert.deepEqual(failures.byReason.map((r: { failureType: string; failureReason: string; count: number }) => [r.failureType, r.failureReason, r.count]).sort(), [['Hard', 'User unknown', 50], ['Soft', 'Invalid domain', 50]]);
    const reject = failures.byDomain.find((d: { domain: string }) => d.domain === 'reject.test');
    assert.deepEqual(reject, { domain: 'reject.test', failed: 50, processed: 150, percentOfProcessed: 33.33 });

    // Every delivery log, one by one.
    const logs: any[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (let after = 0; ; ) {
      const page = await estafeta.api('GET', `/deliveries/${id}/logs?limit=1000&after=${after}`);
      logs.push(...page.body.logs);
      if (!page.body.next) break;
      after = page.body.next;
    }
    assert.equal(logs.length, 1005);
    for (const log of logs) {
      const fate = expected.get(log.address) ?? (log.address === '' ? 'none' : undefined);
      switch (fate) {
        case 'sent':
          assert.equal(log.status, 'sent', `${log.address}: ${log.reply}`);
          assert.match(log.reply, /^250/);
          break;
        case 'sent-after-retry':
          assert.equal(log.status, 'sent', `${log.address}: ${log.reply}`);
          assert.equal(log.attempts, 2, log.address);
          break;
        case 'user-unknown':
          assert.equal(log.status, 'failed');
          assert.equal(log.failureType, 'Hard');
          assert.equal(log.failureReason, 'User unknown');
          assert.match(log.reply, /^550 5\.1\.1 /);
          break;
        case 'invalid-domain':
          assert.equal(log.status, 'failed', log.address);
          assert.equal(log.failureReason, 'Invalid domain', `${log.address}: ${log.reply}`);
          break;
        default:
          assert.equal(log.status, 'ignored', `${log.address} should be excluded`);
      }
    }

    // The soft bounce is in the greylisted log's history, then the delivery.
    const grey = logs.find((l) => l.address === 'grey0@grey.test');
    const detail = await estafeta.api('GET', `/logs/${grey.id}`);
    assert.deepEqual(detail.body.history.map((e: { type: string }) => e.type), ['deferred', 'delivered']);
    assert.match(detail.body.history[0].payload.reply, /^451 4\.7\.1 Greylisted/);

    // One message per recipient, as received by the MX hosts.
    const all = [...w.sinks.accept.received, ...w.sinks.reject.received, ...w.sinks.grey.received];
    assert.equal(all.length, 900);
    const rcpts = all.map((m) => m.to[0]);
    assert.equal(new Set(rcpts).size, 900, 'no recipient received two messages');
    assert.ok(w.sinks.accept.connections.total < 700, `connections are reused (${w.sinks.accept.connections.total} connections for 700 messages)`);
    const messageIds = new Set<string>();
    for (const m of w.sinks.accept.received.slice(0, 50)) {
      const parsed = await PostalMime.parse(m.raw);
      const i = Number(/^user(\d+)@/.exec(m.to[0])?.[1] ?? /^other(\d+)@/.exec(m.to[0])?.[1]);
      const name = m.to[0].startsWith('user') ? `Name${i}` : `Other${i}`;
      assert.equal(parsed.subject, `Hello ${name}, autumn offers`);
      assert.equal(parsed.from?.name, 'Tienda Española');
      assert.equal(parsed.from?.address, 'news@shop.example');
      assert.equal(parsed.to?.[0]?.address, m.to[0]);
      assert.equal(parsed.replyTo?.[0]?.address, 'care@shop.example');
      assert.match(parsed.html ?? '', new RegExp(`<h1>Hello ${name}</h1><p>News for Lisboa.</p>`));
      assert.match(parsed.text ?? '', new RegExp(`Hello ${name}`));
      const header = (k: string) => parsed.headers.find((h) => h.key === k)?.value ?? '';
      assert.match(header('content-type'), /^multipart\/alternative/);
      assert.match(header('list-unsubscribe'), /^<http:\/\/127\.0\.0\.1:\d+\/unsubscribe\/[0-9a-z]+-[0-9a-z]+>, <mailto:unsubscribe\+/);
      assert.ok(parsed.messageId && !messageIds.has(parsed.messageId), 'unique Message-ID');
      messageIds.add(parsed.messageId!);
      assert.match(m.from, /^bounce\+[0-9a-z]+-[0-9a-z]{10}@/, 'VERP return path');
    }

    // Hard bounces quarantined their addresses.
    const q = await db.selectFrom('quarantine').select(['address', 'status']).where('address', 'like', 'unknown%').execute();
    assert.equal(q.length, 50);
    assert.ok(q.every((r) => r.status === QuarantineStatus.Quarantine));
  } finally {
    await stopWorld(w);
  }
});
