/**
 * npm run fuzz -- [--budget 10m] [--target NAME[,NAME]] [--runs N] [--seed S] [--path P] [--json FILE]
 *
 * Runs the fuzz targets of test/fuzz/ (property-based, fast-check) one after another:
 * each gets its share of --budget (a target that ends early leaves its time to the next)
 * and at most --runs inputs (a target's weight scales both; real HTTP gets a fiftieth).
 * Prints per target the inputs run, failures with the shrunk input, the slowest input,
 * heap growth and the time; exits 1 when a target failed. --seed and --path replay a
 * failure that fast-check printed. Not part of `npm test`: the suite runs a smoke pass
 * (test/fuzz-smoke.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { parseDuration } from '../src/lib/duration.ts';
import { runTarget, type TargetReport } from '../test/fuzz/harness.ts';
import { TARGETS } from '../test/fuzz/targets.ts';
import { startWatchdog } from '../test/fuzz/watchdog.ts';

const DEFAULT_BUDGET_MS = 10 * 60_000;
const DEFAULT_RUNS = 1_000_000;

function fail(message: string): never {
  process.stderr.write(`fuzz: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]) {
  const out = { budgetMs: DEFAULT_BUDGET_MS, runs: DEFAULT_RUNS, targets: TARGETS.map((t) => t.name), seed: undefined as number | undefined, path: undefined as string | undefined, json: undefined as string | undefined };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = argv[i + 1];
    if (value === undefined && name !== '--help') fail(`${name} needs a value`);
    if (name === '--budget') {
      let ms = 0;
      try {
        ms = parseDuration(value);
      } catch {
        fail(`--budget: "${value}" is not a duration (e.g. 10m, 90s, 1h)`);
      }
      if (ms <= 0) fail('--budget must be more than 0');
      out.budgetMs = ms;
    } else if (name === '--runs') {
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < 1) fail(`--runs: "${value}" is not a positive whole number`);
      out.runs = n;
    } else if (name === '--target') {
      const names = value.split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = names.filter((n) => !TARGETS.some((t) => t.name === n));
      if (unknown.length) fail(`--target: no target named ${unknown.join(', ')}; the targets are ${TARGETS.map((t) => t.name).join(', ')}`);
      out.targets = names;
    } else if (name === '--seed') {
      const n = Number(value);
      if (!Number.isInteger(n)) fail(`--seed: "${value}" is not a whole number`);
      out.seed = n;
    } else if (name === '--path') out.path = value;
    else if (name === '--json') out.json = value;
    else if (name === '--help') {
      process.stdout.write(`usage: npm run fuzz -- [--budget 10m] [--target ${TARGETS.map((t) => t.name).join(',')}] [--runs N] [--seed S --path P] [--json FILE]\n`);
      process.exit(0);
    } else fail(`unknown option ${name} (see --help)`);
    i++;
  }
  return out;
}

function fmtMs(ms: number): string {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(2)} ms`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const chosen = TARGETS.filter((t) => args.targets.includes(t.name));
  startWatchdog();
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const unexpected: string[] = [];
  process.on('unhandledRejection', (err) => unexpected.push(`unhandled rejection: ${err instanceof Error ? err.stack : String(err)}`));
  process.on('uncaughtException', (err) => unexpected.push(`uncaught exception: ${err.stack ?? err.message}`));

  log(`fuzz: ${chosen.map((t) => t.name).join(', ')}; budget ${fmtMs(args.budgetMs)}, up to ${args.runs} inputs a target${args.seed !== undefined ? `, seed ${args.seed}` : ''}; node ${process.version}`);
  const started = Date.now();
  const reports: TargetReport[] = [];
  for (let i = 0; i < chosen.length; i++) {
    const target = chosen[i];
    const rest = chosen.slice(i);
    const weights = rest.reduce((s, t) => s + (t.weight ?? 1), 0);
    const left = args.budgetMs - (Date.now() - started);
    const timeLimitMs = Math.max(1000, (left * (target.weight ?? 1)) / weights);
    const runs = Math.max(1, Math.round(args.runs * (target.weight ?? 1)));
    log(`${target.name}: ${target.description}; up to ${runs} inputs or ${fmtMs(timeLimitMs)}`);
    const report = await runTarget(target, { runs, timeLimitMs, seed: args.seed, path: args.path, progressEvery: 100_000, log });
    if (unexpected.length) {
      report.failures++;
      report.error = `${report.error ? `${report.error}; ` : ''}${unexpected.splice(0).join('; ')}`;
    }
    reports.push(report);
    log(`${target.name}: ${report.runs} inputs, ${report.failures} failure(s), slowest ${fmtMs(report.slowestMs)} CPU (${fmtMs(report.slowestWallMs)} wall; longest wall ${fmtMs(report.maxWallMs)}), time ${fmtMs(report.timeMs)}, heap growth ${(report.heapGrowthBytes / 1048576).toFixed(1)} MB (peak ${(report.peakHeapBytes / 1048576).toFixed(0)} MB), seed ${report.seed}${report.interrupted ? ', stopped by the time budget' : ''}`);
    log(`  slowest input (${fmtMs(report.slowestRetimedMs)} CPU when timed again): ${report.slowestInput}`);
    for (const [id, n] of Object.entries(report.known)) log(`  known finding hit ${n} time(s): ${id}`);
    if (report.failures) log(`  FAILED: ${report.error}\n  input (shrunk): ${report.counterexample}\n  replay: npm run fuzz -- --target ${report.name} --seed ${report.seed}${report.path ? ` --path ${report.path}` : ''}`);
  }
  const total = Date.now() - started;
  log('\ntarget        inputs      failures  slowest CPU  time');
  for (const r of reports) log(`${r.name.padEnd(13)} ${String(r.runs).padStart(10)}  ${String(r.failures).padStart(8)}  ${fmtMs(r.slowestMs).padStart(10)}  ${fmtMs(r.timeMs).padStart(9)}`);
  log(`total: ${reports.reduce((s, r) => s + r.runs, 0)} inputs, ${reports.reduce((s, r) => s + r.failures, 0)} failure(s), ${fmtMs(total)}`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ args: process.argv.slice(2), node: process.version, totalMs: total, reports }, null, 2));
  process.exit(reports.some((r) => r.failures > 0) ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`fuzz: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(2);
});
