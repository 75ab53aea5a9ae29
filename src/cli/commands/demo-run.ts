/**
 * What `estafeta demo` does once it runs (demo.ts declares the command): starts the demo
 * world, sends the sample delivery with a progress bar, prints the summary, and keeps the
 * dashboard up until Ctrl-C unless --json or --exit.
 */
import cliProgress from 'cli-progress';
import { startDemoWorld, type DemoWorld } from '../../app/demo.ts';
import { runDemoDelivery, type DemoProgress, type DemoResult } from '../../app/demo-run.ts';
import { CliError } from '../client.ts';
import { printJson } from '../format.ts';
import type { DemoCommandOptions } from './demo.ts';

export async function runDemoCommand(o: DemoCommandOptions): Promise<void> {
  const recipients = Number(o.recipients ?? 10000);
  if (!Number.isInteger(recipients) || recipients < 1 || recipients > 1_000_000) throw new CliError(`--recipients must be a whole number from 1 to 1000000, got "${o.recipients}"`);
  const port = o.port === undefined ? undefined : Number(o.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new CliError(`--port must be a port number, got "${o.port}"`);
  const started = Date.now();
  const err = (text: string) => process.stderr.write(text);

  const world = await startDemoWorld({ httpPort: port, database: o.database }).catch((e: Error) => {
    throw new CliError(`the demo could not start: ${e.message}`);
  });
  let result: DemoResult;
  try {
    if (!o.json) err(banner(world, recipients));
    const progress = o.json ? null : progressDisplay(recipients);
    try {
      result = await runDemoDelivery(world, { recipients, onProgress: progress?.update });
    } finally {
      progress?.stop();
    }
  } catch (e) {
    await world.stop();
    throw new CliError(`the demo failed: ${(e as Error).message}`);
  }
  const elapsedSeconds = Math.round((Date.now() - started) / 100) / 10;

  if (o.json) {
    printJson({ ...result, elapsedSeconds, url: world.url, database: world.database });
  } else {
    err(summary(result, elapsedSeconds));
  }
  if (o.json || o.exit) {
    await world.stop();
    return;
  }
  err(`\nThe dashboard stays up at ${world.url}/ (user ${world.admin.user}, password ${world.admin.password}). Press Ctrl-C to stop.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  err('stopping...\n');
  await world.stop();
}

function banner(w: DemoWorld, recipients: number): string {
  return [
    '',
    'Estafeta demo: Estafeta and the ISP simulator in one process.',
    `  Dashboard   ${w.url}/`,
    `  Sign in     user ${w.admin.user}, password ${w.admin.password}`,
    `  API         ${w.url}/api/v1 (docs ${w.url}/api/docs), key ${w.apiKey}`,
    `  Database    ${w.database} (fresh; reopen with: npx estafeta start --database ${w.database})`,
    `  Simulator   DNS ${w.sim.dns.host}:${w.sim.dns.port}, MX port ${w.sim.smtpPort}, ${w.sim.domains().join(' ')}`,
    '',
    `Sending a sample delivery of ${recipients.toLocaleString('en')} recipients: unknown users, full mailboxes, greylisting,`,
    'rate limits, spam blocks, late bounces, complaints and auto-replies, as real providers answer them.',
    '',
  ].join('\n');
}

/** A progress bar of processed / to deliver, with sent, failed and success %. */
function progressDisplay(expected: number): { update(p: DemoProgress): void; stop(): void } {
  const bar = new cliProgress.SingleBar(
    {
      format: '{phase} [{bar}] {value}/{total} processed | sent {sent} | failed {failed} | success {success}%',
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const labels = { analyzing: 'Analyzing', sending: 'Sending  ', settling: 'Bounces  ', done: 'Done     ' };
  return {
    update(p) {
      const k = p.kpis;
      const payload = { phase: labels[p.phase], sent: k?.sent ?? 0, failed: k?.failed ?? 0, success: k?.successPercent ?? 0 };
      const total = Math.max(k?.toDeliver ?? expected, 1);
      if (!started) {
        bar.start(total, k?.processed ?? 0, payload);
        started = true;
      }
      bar.setTotal(total);
      bar.update(k?.processed ?? 0, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function summary(r: DemoResult, elapsedSeconds: number): string {
  const k = r.kpis;
  const reasons = Object.entries(k.failuresByReason).sort((a, b) => b[1] - a[1]);
  const excluded = Object.entries(r.excluded).map(([reason, n]) => `${n} ${reason}`).join(', ') || 'none';
  return [
    '',
    `Delivery ${r.deliveryId} is final after ${elapsedSeconds} s (analysis ${r.timings.analysis} s, sending ${r.timings.sending} s, late bounces ${r.timings.settling} s).`,
    `  To deliver  ${k.toDeliver}   (excluded by the analysis: ${excluded})`,
    `  Processed   ${k.processed}`,
    `  Sent        ${k.sent}   (success ${k.successPercent} %)`,
    `  Failed      ${k.failed}`,
    ...reasons.map(([reason, n]) => `    ${reason.padEnd(22)} ${n}`),
    `  Quarantined ${k.quarantined}   Complaints ${k.complaints}`,
    `  Simulator   ${r.simulator.accepted} accepted, ${r.simulator.deferred} deferred (greylisting, rate limits), ${r.simulator.rejected} rejected; late mails ${JSON.stringify(r.simulator.asyncMails)}`,
  ].join('\n') + '\n';
}
