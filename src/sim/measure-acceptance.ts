/**
 * Measures how many messages per second the simulator accepts: starts it in this process
 * and drives it with Postfix's `smtp-source` (a separate C process, so the load generator
 * does not compete for this event loop), then prints one JSON line.
 *
 *   npx tsx src/sim/measure-acceptance.ts [--messages 20000] [--sessions 20] [--size 10240] [--profile accept|shipped]
 *
 * `accept` is one provider that accepts everything (the simulator's own ceiling); `shipped`
 * uses the Gmail-like profile from src/sim/profiles.yaml with its rate limit and
 * connection limit lifted, so fates, counting and async mails are part of the cost.
 * Requires smtp-source (Debian package postfix). Not a test: prints figures.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { loadSimProfiles, startSimulator } from './index.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    sessions: { type: 'string', default: '20' },
    size: { type: 'string', default: '10240' },
    profile: { type: 'string', default: 'accept' },
  },
});
const messages = Number(values.messages);
const sessions = Number(values.sessions);

const profiles =
  values.profile === 'shipped'
    ? (() => {
        const gmail = loadSimProfiles().providers.find((p) => p.name === 'gmail')!;
        // smtp-source gives up on a rejected RCPT, so the refusing fates are turned into
        // accepted-then-async ones of the same total share: the cost of fates stays.
        const f = gmail.fates;
        const asyncShare = f.unknown + f.full + f.overquota + f.disabled + f.spam + f.bounceLater;
        return { providers: [{ ...gmail, rateLimit: null, maxConnectionsPerIp: 1000, deferPercent: 0, greylist: { seconds: 0, percent: 0 }, fates: { bounceLater: asyncShare, complain: f.complain, autoreply: f.autoreply } }] };
      })()
    : { providers: [{ name: 'bench', domains: ['bench.sim'], mxHosts: [{ name: 'mx.bench.sim' }], maxConnectionsPerIp: 1000, tls: false }] };

const sim = await startSimulator({ smtpPort: 0, profiles, asyncDelayMs: 60_000 });
const mx = sim.mxHosts()[0];
const domain = mx.domains[0];
const cpuBefore = process.cpuUsage();
const started = process.hrtime.bigint();
const code = await new Promise<number>((resolve, reject) => {
  // -d keeps sessions open across messages, -N makes every recipient address distinct.
  const child = spawn('smtp-source', ['-s', String(sessions), '-m', String(messages), '-l', values.size!, '-d', '-N', '-f', 'sender@bench.test', '-t', `rcpt@${domain}`, `${mx.ip}:${sim.smtpPort}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  child.on('error', reject);
  child.on('exit', (c) => resolve(c ?? 1));
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
const counts = sim.counts();
await sim.stop();
console.log(
  JSON.stringify({
    profile: values.profile,
    messages,
    sessions,
    sizeBytes: Number(values.size),
    smtpSourceExit: code,
    received: counts.totals.received,
    distinctRecipients: counts.recipients.distinct,
    asyncScheduled: counts.async.scheduled,
    seconds: Number(seconds.toFixed(3)),
    messagesPerSecond: Math.round(counts.totals.received / seconds),
    simCpuMsPerMessage: Number(((cpu.user + cpu.system) / 1000 / Math.max(1, counts.totals.received)).toFixed(3)),
  }),
);
