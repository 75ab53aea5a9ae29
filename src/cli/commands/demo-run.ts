/**
 * What `estafeta demo` does once it runs (demo.ts declares the command): starts the demo
 * world, sends the sample delivery with a progress bar, prints the summary, and keeps the
 * dashboard up until Ctrl-C unless --json or --exit.
 */
import { statSync } from 'node:fs';
import { relative } from 'node:path';
import cliProgress from 'cli-progress';
import { cleanDemoFiles, demoDir, listDemoFiles, megabytes } from '../../app/demo-files.ts';
import { databaseInWords } from '../../app/banner.ts';
import { plural } from '../words.ts';
import { startDemoWorld, type DemoWorld } from '../../app/demo.ts';
import { runDemoDelivery, type DemoProgress, type DemoResult } from '../../app/demo-run.ts';
import { CliError } from '../client.ts';
import { printJson } from '../format.ts';
import type { DemoCommandOptions } from './demo.ts';

export async function runDemoCommand(o: DemoCommandOptions): Promise<void> {
  if (o.clean) return cleanCommand();
  const recipients = Number(o.recipients ?? 10000);
  if (!Number.isInteger(recipients) || recipients < 1 || recipients > 1_000_000) throw new CliError(`--recipients must be a whole number from 1 to 1,000,000, got "${o.recipients}"`);
  const port = o.port === undefined ? undefined : Number(o.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new CliError(`--port must be a port number, got "${o.port}"`);
  const started = Date.now();
  const err = (text: string) => process.stderr.write(text);

  // Ctrl-C at any moment stops the world and closes its database (no -wal or -shm left).
  let onSignal = () => {};
  const interrupted = new Promise<'interrupted'>((resolve) => (onSignal = () => resolve('interrupted')));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const stopListening = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };

  let world: DemoWorld;
  try {
    world = await startDemoWorld({ httpPort: port, database: o.database });
  } catch (e) {
    stopListening();
    throw new CliError(`the demo could not start: ${(e as Error).message}`);
  }
  const stop = async (why: string) => {
    stopListening();
    err(why);
    await world.stop();
  };
  let result: DemoResult | 'interrupted';
  const progress = o.json ? null : progressDisplay(recipients);
  try {
    if (!o.json) err(banner(world, recipients));
    const run = runDemoDelivery(world, { recipients, onProgress: progress?.update });
    run.catch(() => {}); // once interrupted, its polling fails on the closed world: not news
    result = await Promise.race([run, interrupted]);
  } catch (e) {
    progress?.stop();
    await stop('');
    throw new CliError(`the demo failed: ${(e as Error).message}`);
  }
  progress?.stop();
  if (result === 'interrupted') {
    await stop('\nstopping...\n');
    err(whereFiles(world, 'The demo was interrupted. '));
    process.exitCode = 130;
    return;
  }
  const elapsedSeconds = Math.round((Date.now() - started) / 100) / 10;

  if (o.json) {
    printJson({ ...result, elapsedSeconds, url: world.url, database: world.database });
  } else {
    err(summary(result, elapsedSeconds));
  }
  if (o.json || o.exit) {
    await stop('');
    if (!o.json) err(whereFiles(world, '\n'));
    return;
  }
  err(`\nThe dashboard stays up at ${world.url}/ (user ${world.admin.user}, password ${world.admin.password}). Press Ctrl-C to stop.\n`);
  await interrupted;
  await stop('stopping...\n');
  err(whereFiles(world, '\n'));
}

/** After a run: where its database is, how to reopen it, and how to remove old ones. */
function whereFiles(w: DemoWorld, lead: string): string {
  if (!w.databaseFile) return `${lead}The database was ${databaseInWords(w.database)}.\n`;
  const bytes = ['', '-wal', '-shm'].reduce((n, ext) => n + (statSync(w.databaseFile + ext, { throwIfNoEntry: false })?.size ?? 0), 0);
  const others = listDemoFiles().ended.filter((f) => f.file !== w.databaseFile);
  const size = megabytes(bytes);
  const old = others.length ? ` and ${plural(others.length, 'older one')}, ${megabytes(bytes + others.reduce((n, f) => n + f.bytes, 0))} in all` : '';
  return [
    `${lead}This demo's database is ${relative(process.cwd(), w.databaseFile) || w.databaseFile} (${size}); each run makes a new one in ${relative(process.cwd(), demoDir()) || '.'}/.`,
    `  Reopen it:    npx estafeta start --database sqlite:${w.databaseFile}`,
    `  Remove them:  npx estafeta demo --clean   (this one${old}; never a running demo's)`,
    '',
  ].join('\n');
}

function cleanCommand(): void {
  const r = cleanDemoFiles();
  const bytes = r.ended.reduce((n, f) => n + f.bytes, 0);
  const running = r.running.length ? `; ${plural(r.running.length, 'database')} of a running demo kept` : '';
  process.stdout.write(r.ended.length ? `removed ${plural(r.ended.length, 'demo database')} (${megabytes(bytes)}) from ${r.dir}${running}\n` : `no ended demo's database to remove in ${r.dir}${running}\n`);
}

function banner(w: DemoWorld, recipients: number): string {
  return [
    '',
    'Estafeta demo: Estafeta and the ISP simulator in one process.',
    `  Dashboard   ${w.url}/`,
    `  Sign in     user ${w.admin.user}, password ${w.admin.password}`,
    `  API         ${w.url}/api/v1 (docs ${w.url}/api/docs), key ${w.apiKey}`,
    `  Database    ${databaseInWords(w.database)}${w.databaseFile ? ' (new for this run)' : ''}`,
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
    `  Simulator   ${r.simulator.accepted} accepted, ${r.simulator.deferred} deferred (greylisting, rate limits), ${r.simulator.rejected} rejected; late mails: ${lateMails(r.simulator.asyncMails)}`,
  ].join('\n') + '\n';
}

/** The simulator's late mails in words: "3 bounce mails (DSN), 3 complaints, 5 auto-replies". */
function lateMails(byKind: Record<string, number>): string {
  const names: Record<string, [string, string]> = { dsn: ['bounce mail (DSN)', 'bounce mails (DSN)'], arf: ['complaint (ARF)', 'complaints (ARF)'], autoreply: ['auto-reply', 'auto-replies'] };
  const parts = Object.entries(byKind).map(([kind, n]) => (names[kind] ? plural(n, ...names[kind]) : `${n} ${kind}`));
  return parts.join(', ') || 'none';
}
