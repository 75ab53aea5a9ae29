/**
 * `npx tsx bench/submission.ts [--messages N] [--sessions S] [--json]`
 *
 * SMTP submission's acceptance rate (issue 17 asks for at least 2,000 messages of 10 KB a
 * second from 20 sessions). Starts a whole Estafeta in this process (all roles: the MTA
 * delivers while the listener accepts), on SQLite by default or PostgreSQL with
 * DATABASE_URL, with an RSA-2048 DKIM key for the sender domain, a loopback DNS and an
 * smtp-server sink as MX. S nodemailer sessions (pooled, STARTTLS + AUTH PLAIN) submit N
 * messages of about 10 KB, one recipient each; it times from the first message to the last
 * 250 (each answered only after its commit), then until the sink has them all. Prints
 * messages a second. Not compared with Postfix's smtpd here (yet).
 */
import { loadavg } from 'node:os';
import nodemailer from 'nodemailer';
import { startSimDns } from '../src/sim/dns-server.ts';
import { freePort, startSink } from '../test/helpers/smtp-sink.ts';
import { startTestEstafeta } from '../test/helpers/estafeta.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = option('messages', 4000);
const S = option('sessions', 20);
const MX = '127.0.3.78';

const port = await freePort([MX]);
const dns = await startSimDns({ port: 0, records: [{ name: 'bench.test', type: 'MX', exchange: 'mx.bench.test', priority: 10 }, { name: 'mx.bench.test', type: 'A', address: MX }] });
const sink = await startSink(MX, port);
const e = await startTestEstafeta({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port }, submission: { maxConnectionsPerIp: S + 5 } });
try {
  if ((await e.api('POST', '/dkim/keys', { domain: 'app.example', selector: 'bench' })).status !== 201) throw new Error('DKIM key not created');
  const stream = (await e.api('POST', '/streams', { name: 'bench', fromDomains: ['app.example'], tracking: false })).body;
  const cred = (await e.api('POST', `/streams/${stream.id}/smtp-credentials`)).body;
  const html = `<html><body>${'<p>Your receipt, line by line, with the amounts and the totals you asked for.</p>\n'.repeat(60)}</body></html>`;
  const text = 'Your receipt, line by line, with the amounts and the totals you asked for.\n'.repeat(60);
  const transports = Array.from({ length: S }, () => nodemailer.createTransport({ host: '127.0.0.1', port: e.app.submission!.port, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: cred.username, pass: cred.password }, pool: true, maxConnections: 1, maxMessages: Infinity }));
  let next = 0;
  let accepted = 0;
  const t0 = performance.now();
  await Promise.all(transports.map(async (t) => {
    for (let i = next++; i < N; i = next++) {
      const info = await t.sendMail({ from: 'receipts@app.example', to: `r${i}@bench.test`, subject: `Receipt ${i}`, html, text, headers: { 'X-Estafeta-Meta-Order': String(i) } });
      if (info.response.startsWith('250')) accepted++;
    }
  }));
  const acceptSeconds = (performance.now() - t0) / 1000;
  while (sink.received.length < accepted && performance.now() - t0 < 600_000) await new Promise((r) => setTimeout(r, 50));
  const deliveredSeconds = (performance.now() - t0) / 1000;
  for (const t of transports) t.close();
  const size = sink.received[0]?.raw.length ?? 0;
  const result = {
    database: e.app.db.dialect,
    messages: N,
    sessions: S,
    deliveredBytesPerMessage: size,
    accepted,
    acceptedPerSecond: Math.round(accepted / acceptSeconds),
    deliveredPerSecond: Math.round(sink.received.length / deliveredSeconds),
    loadAverage: Math.round(loadavg()[0] * 10) / 10,
  };
  if (args.includes('--json')) console.log(JSON.stringify(result));
  else console.log(`SMTP submission (${result.database}, ${S} sessions, STARTTLS + AUTH, DKIM RSA-2048): ${accepted} of ${N} messages of ${size} bytes accepted at ${result.acceptedPerSecond} msg/s; all delivered to the sink at ${result.deliveredPerSecond} msg/s end to end (load ${result.loadAverage})`);
} finally {
  await e.stop();
  await sink.stop();
  await dns.stop();
}
