/**
 * `npx tsx bench/submission.ts [--messages N] [--sessions S] [--size BYTES] [--no-tls] [--no-dkim] [--without-mta] [--skip-postfix] [--json]`
 *
 * SMTP submission's acceptance rate (issue 17 asks for at least 2,000 messages of 10 KB a
 * second from 20 sessions), and Postfix's smtpd taking the same load into its queue in the
 * same run. Starts a whole Estafeta in this process (all roles: the MTA delivers while the
 * listener accepts), on SQLite by default or PostgreSQL with DATABASE_URL, with an RSA-2048
 * DKIM key for the sender domain and a loopback DNS. The recipients' MX is Postfix's
 * smtp-sink (another process; the in-process test sink when Postfix is not installed).
 * The client (bench/lib/smtp-submit-client.ts) runs in its own process: S sessions, each
 * STARTTLS (not with --no-tls: AUTH in the clear, which the listener allows on loopback only
 * when told) and AUTH PLAIN, then N messages of about 10 KB (HTML + text, one recipient
 * each), MAIL, RCPT and DATA pipelined. Timed from the first MAIL to the last 250, each
 * answered only after its commit; then until the MTA has delivered them all. CPU per
 * message: this process's (all its threads, and by thread), Postfix's processes' and the whole machine's, over the
 * acceptance. --without-mta runs Estafeta without its MTA role (the messages stay spooled),
 * to tell the listener's share from the deliveries'.
 *
 * Then a private Postfix (bench/lib/postfix-relay.ts, STARTTLS with a throw-away
 * certificate unless --no-tls, no AUTH: it relays for loopback) takes the same N messages
 * from the same client; its smtpd answers 250 once cleanup has written and fsynced the
 * queue file, the same durability. Its qmgr relays them to the same sink meanwhile, as
 * Estafeta's MTA does. Prints both rates and Estafeta's over Postfix's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimDns } from '../src/sim/dns-server.ts';
import { freePort } from '../test/helpers/smtp-sink.ts';
import { startTestEstafeta } from '../test/helpers/estafeta.ts';
import { cpuMs, machineCpuMs, settle, sleep, threadsCpuMs } from './lib/proc.ts';
import { startBenchSink } from './lib/bench-sink.ts';
import { postfixAvailable, startPostfixRelay } from './lib/postfix-relay.ts';
import { startSubmitClient, type SubmitOptions } from './lib/smtp-submit-client.ts';
import { postfixMasterPid, treeCpuMs } from './lib/process-tree-cpu.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = option('messages', 4000);
const S = option('sessions', 20);
const SIZE = option('size', 10 * 1024);
const TLS = !args.includes('--no-tls');
const MTA = !args.includes('--without-mta');
const DKIM = !args.includes('--no-dkim');
const json = args.includes('--json');
const say = (s: string) => {
  if (!json) process.stderr.write(s + '\n');
};
const MX = '127.0.3.78';
const load = () => Math.round(loadavg()[0] * 10) / 10;
const perMessage = (ms: number, n: number) => Math.round((ms / Math.max(1, n)) * 100) / 100;

const mx = await startBenchSink(MX);
const { port, inProcess: sink } = mx;
const dns = await startSimDns({ port: 0, records: [{ name: 'bench.test', type: 'MX', exchange: 'mx.bench.test', priority: 10 }, { name: 'mx.bench.test', type: 'A', address: MX }] });
const result: Record<string, unknown> = { mta: MTA, dkim: DKIM ? 'rsa-sha256 2048' : 'none', messages: N, sessions: S, messageBytes: SIZE, tls: TLS, cores: availableParallelism() };
const client = (o: Partial<SubmitOptions> & { port: number }) => startSubmitClient({ host: '127.0.0.1', sessions: S, messages: N, size: SIZE, from: 'receipts@app.example', rcptDomain: 'bench.test', tls: TLS, ...o });

const e = await startTestEstafeta({ ...(MTA ? {} : { roles: ['api', 'sender', 'inbound', 'feedback', 'submission'] as const }), dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port }, submission: { maxConnectionsPerIp: S + 5, allowPlainOnLoopback: !TLS } });
try {
  if (DKIM && (await e.api('POST', '/dkim/keys', { domain: 'app.example', selector: 'bench' })).status !== 201) throw new Error('DKIM key not created');
  const stream = (await e.api('POST', '/streams', { name: 'bench', fromDomains: ['app.example'], tracking: false })).body;
  const cred = (await e.api('POST', `/streams/${stream.id}/smtp-credentials`)).body;
  const c = client({ port: e.app.submission!.port, user: cred.username, pass: cred.password });
  await c.ready;
  await settle();
  say(`Estafeta (${e.app.db.dialect}): ${N} messages of ${SIZE} bytes, ${S} sessions, ${TLS ? 'STARTTLS' : 'no TLS'} + AUTH, DKIM ${DKIM ? 'RSA-2048' : 'none'} (load ${load()})`);
  const [own0, threads0, machine0, t0] = [cpuMs(process.pid), threadsCpuMs(process.pid), machineCpuMs(), performance.now()];
  const r = await c.go();
  const [own1, threads1, machine1] = [cpuMs(process.pid), threadsCpuMs(process.pid), machineCpuMs()];
  // By thread: the main one (listener, StreamSender, MTA), DKIM's signers, SQLite's checkpointer, libuv's pool.
  const byThread = Object.fromEntries([...threads1].map(([name, ms]) => [name, perMessage(ms - (threads0.get(name) ?? 0), r.accepted)]).filter(([, ms]) => (ms as number) >= 0.01));
  const spooled = async () => Number((await e.app.db.kysely.selectFrom('mta_spool').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  while (MTA && (await spooled()) > 0 && performance.now() - t0 < 600_000) await sleep(100);
  const deliveredSeconds = (performance.now() - t0) / 1000;
  Object.assign(result, {
    database: e.app.db.dialect,
    accepted: r.accepted,
    refused: r.refused,
    ...(r.refusals.length ? { refusals: r.refusals } : {}),
    acceptedPerSecond: Math.round(r.accepted / r.seconds),
    ...(MTA ? { allDeliveredPerSecond: Math.round(r.accepted / deliveredSeconds) } : {}),
    cpuMsPerMessage: perMessage(own1 - own0, r.accepted),
    cpuMsPerMessageByThread: byThread,
    machineCpuMsPerMessage: perMessage(machine1 - machine0, r.accepted),
    loadAverage: load(),
  });
  if (sink && sink.received.length) result.deliveredBytesPerMessage = sink.received[0].raw.length;
} finally {
  await e.stop();
}

try {
  const missing = postfixAvailable();
  if (args.includes('--skip-postfix')) say('postfix skipped');
  else if (missing) say(`postfix skipped: ${missing}`);
  else {
    const pfPort = await freePort(['127.0.0.1']);
    const certDir = mkdtempSync(join(tmpdir(), 'estafeta-bench-postfix-tls-'));
    const extra = TLS ? tlsConfig(certDir) : [];
    const relay = startPostfixRelay(pfPort, port, S, { sinkHost: MX, extra });
    try {
      await sleep(1500);
      const c = client({ port: pfPort });
      await c.ready;
      await settle();
      say(`Postfix smtpd: the same ${N} messages, ${S} sessions, ${TLS ? 'STARTTLS' : 'no TLS'}, no AUTH (load ${load()})`);
      const master = postfixMasterPid(relay.configDir);
      const own = () => (master ? treeCpuMs(master) : NaN);
      const [own0, machine0, t0] = [own(), machineCpuMs(), performance.now()];
      const r = await c.go();
      const [own1, machine1] = [own(), machineCpuMs()];
      while (relay.delivered() < r.accepted && performance.now() - t0 < 600_000) await sleep(100);
      Object.assign(result, {
        postfixAccepted: r.accepted,
        ...(r.refusals.length ? { postfixRefusals: r.refusals } : {}),
        postfixAcceptedPerSecond: Math.round(r.accepted / r.seconds),
        postfixAllDeliveredPerSecond: Math.round(r.accepted / ((performance.now() - t0) / 1000)),
        // Its master and the daemons under it (smtpd, cleanup, qmgr, smtp...), as Estafeta's process above.
        ...(master ? { postfixCpuMsPerMessage: perMessage(own1 - own0, r.accepted) } : {}),
        postfixMachineCpuMsPerMessage: perMessage(machine1 - machine0, r.accepted),
        postfixLoadAverage: load(),
      });
      result.ratioVsPostfix = Math.round(((result.acceptedPerSecond as number) / (result.postfixAcceptedPerSecond as number)) * 100) / 100;
    } finally {
      relay.stop();
      rmSync(certDir, { recursive: true, force: true });
    }
  }
} finally {
  await mx.stop();
  await dns.stop();
}

if (json) console.log(JSON.stringify(result));
else {
  const x = result as Record<string, number>;
  console.log(`SMTP submission on ${x.database}, ${S} sessions, ${TLS ? 'STARTTLS' : 'no TLS'} + AUTH, DKIM ${result.dkim}, ${N} messages of ${SIZE} bytes, ${x.cores} cores:`);
  console.log(`  Estafeta: ${x.accepted} accepted at ${x.acceptedPerSecond} msg/s (${x.refused} refused), ${x.cpuMsPerMessage} ms CPU a message in Estafeta (by thread: ${JSON.stringify(result.cpuMsPerMessageByThread)}), ${x.machineCpuMsPerMessage} ms on the machine (load ${x.loadAverage}); ${MTA ? `all delivered at ${x.allDeliveredPerSecond} msg/s end to end` : 'the MTA not running'}`);
  if (x.postfixAcceptedPerSecond) {
    console.log(`  Postfix smtpd: ${x.postfixAccepted} accepted into its queue at ${x.postfixAcceptedPerSecond} msg/s, ${x.postfixCpuMsPerMessage} ms CPU a message in Postfix's processes, ${x.postfixMachineCpuMsPerMessage} ms CPU a message on the machine (load ${x.postfixLoadAverage}); all relayed at ${x.postfixAllDeliveredPerSecond} msg/s`);
    console.log(`  Estafeta / Postfix: ${x.ratioVsPostfix}`);
  }
}

/** A throw-away certificate and Postfix's STARTTLS settings for it. */
function tlsConfig(dir: string): string[] {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=relay.bench.test', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return ['smtpd_tls_security_level = may', `smtpd_tls_cert_file = ${cert}`, `smtpd_tls_key_file = ${key}`, 'smtpd_tls_loglevel = 0'];
}
