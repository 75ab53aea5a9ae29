/**
 * Runs one fuzz target with fast-check: a bounded number of generated inputs or a time
 * budget, whichever ends first, and reports what a security review needs: inputs run,
 * failures (with the input fast-check shrank to), the slowest input, heap growth and
 * findings already known and owned by someone else.
 *
 * Per input: the target's check must return (no exception other than the ones the target
 * documents) within HANG_MS of CPU time (an input over it is timed again: only one slow
 * twice fails).
 * A check that never returns cannot be stopped from the same
 * thread: the watchdog (watchdog.ts) reports it with a seed and path that replay it.
 * Does not know any target: see targets/.
 */
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { takeKnown } from './known.ts';
import { markInputEnd, markInputStart } from './watchdog.ts';

/** An input taking longer than this is a failure (a hang, for a security review). */
export const HANG_MS = 1000;
/** Heap left after a target, above what it started with, that counts as a leak. */
export const MAX_HEAP_GROWTH_BYTES = 64 * 1024 * 1024;

export interface FuzzTarget<T = unknown> {
  name: string;
  /** What it exercises, one line for the report. */
  description: string;
  arbitrary: () => fc.Arbitrary<T>;
  /** Throws (an AssertionError or the unexpected error) when the input shows a bug. */
  check: (input: T) => void | Promise<void>;
  /** True when check returns a promise. */
  async: boolean;
  /** Share of the runs (and of the time) this target gets, 1 by default; e.g. 0.02 for real HTTP. */
  weight?: number;
  setup?: () => Promise<void>;
  teardown?: () => Promise<void>;
}

export interface TargetReport {
  name: string;
  runs: number;
  failures: number;
  /** The shrunk counterexample and the error, when a failure was found. */
  counterexample?: string;
  error?: string;
  seed: number;
  /** Replays the failure: --seed <seed> --path <path>. */
  path?: string;
  /** CPU time of the input that took the most CPU (what the hang limit judges). */
  slowestMs: number;
  slowestInput: string;
  /** The slowest input's CPU time again after the run (best of three). */
  slowestRetimedMs: number;
  /** Wall-clock time of that input, and the longest wall-clock time of any input (load included). */
  slowestWallMs: number;
  maxWallMs: number;
  timeMs: number;
  heapGrowthBytes: number;
  peakHeapBytes: number;
  known: Record<string, number>;
  interrupted: boolean;
}

export interface RunOptions {
  runs: number;
  timeLimitMs: number;
  seed?: number;
  path?: string;
  /** Print progress lines every so many inputs (0: never). */
  progressEvery?: number;
  log?: (line: string) => void;
}

const MAX_SHOWN = 600;

export function show(value: unknown): string {
  const s = typeof value === 'string' ? JSON.stringify(value) : fc.stringify(value);
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}… (${s.length} chars)` : s;
}

// A full collection before and after a target, so heap growth is live data, not garbage:
// gc() without needing node --expose-gc (the flag set at run time, read in a fresh context).
let gcFunction: (() => void) | null = null;
function collect(): void {
  if (!gcFunction) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  }
  gcFunction();
  gcFunction();
}

export async function runTarget<T>(target: FuzzTarget<T>, options: RunOptions): Promise<TargetReport> {
  const seed = options.seed ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  await target.setup?.();
  collect();
  const heapStart = process.memoryUsage().heapUsed;
  let peak = heapStart;
  let count = 0;
  let slowestMs = 0;
  let slowestWall = 0;
  let maxWallMs = 0;
  let slowest: unknown = undefined;
  const started = performance.now();
  let lastProgress = started;
  const every = options.progressEvery ?? 0;

  const note = (input: T, ms: number): void => {
    if (ms > slowestMs) {
      slowestMs = ms;
      slowestWall = lastWallMs;
      slowest = input;
    }
    if (lastWallMs > maxWallMs) maxWallMs = lastWallMs;
    if (++count % 10_000 === 0) {
      const heap = process.memoryUsage().heapUsed;
      if (heap > peak) peak = heap;
      if (every && count % every === 0 && options.log) {
        const now = performance.now();
        options.log(`  ${target.name}: ${count} inputs, ${((now - started) / 1000).toFixed(0)} s, ${(every / ((now - lastProgress) / 1000)).toFixed(0)}/s, heap ${(heap / 1048576).toFixed(0)} MB`);
        lastProgress = now;
      }
    }
  };
  // On a shared machine a process can be paused for a second; a slow input is timed once
  // more, and only an input slow both times counts as a hang.
  const slowTwice = (first: number, second: number) => {
    if (first > HANG_MS && second > HANG_MS) throw new Error(`took ${first.toFixed(0)} ms of CPU and ${second.toFixed(0)} ms when run again (limit ${HANG_MS} ms)`);
    return Math.min(first, second);
  };
  // Each input is timed twice: wall clock (reported) and the process's CPU time (judged):
  // on a machine shared with other work the wall clock measures the machine's load too,
  // while CPU time is what an input costs the thread it runs on.
  let lastWallMs = 0;
  const cpuMs = (since: NodeJS.CpuUsage) => {
    const u = process.cpuUsage(since);
    return (u.user + u.system) / 1000;
  };
  const timedSync = (input: T): number => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    markInputStart(target.name, seed, count);
    try {
      target.check(input) as void;
    } finally {
      markInputEnd();
    }
    lastWallMs = performance.now() - t0;
    return cpuMs(c0);
  };
  const timedAsync = async (input: T): Promise<number> => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    markInputStart(target.name, seed, count);
    try {
      await target.check(input);
    } finally {
      markInputEnd();
    }
    lastWallMs = performance.now() - t0;
    return cpuMs(c0);
  };

  const property = target.async
    ? fc.asyncProperty(target.arbitrary(), async (input: T) => {
        let ms = await timedAsync(input);
        if (ms > HANG_MS) ms = slowTwice(ms, await timedAsync(input));
        note(input, ms);
      })
    : fc.property(target.arbitrary(), (input: T) => {
        let ms = timedSync(input);
        if (ms > HANG_MS) ms = slowTwice(ms, timedSync(input));
        note(input, ms);
      });

  const params: fc.Parameters<[T]> = {
    numRuns: options.runs,
    seed,
    interruptAfterTimeLimit: options.timeLimitMs,
    markInterruptAsFailure: false,
    endOnFailure: false,
    ...(options.path ? { path: options.path } : {}),
  };
  const result = target.async
    ? await fc.check(property as fc.IAsyncPropertyWithHooks<[T]>, params)
    : fc.check(property as fc.IPropertyWithHooks<[T]>, params);
  const timeMs = performance.now() - started;
  // The slowest wall-clock time on a shared machine is often a pause of the process, not
  // the input: time that input again, three times, and report the best.
  let slowestRetimedMs = 0;
  if (slowest !== undefined && !result.failed) {
    slowestRetimedMs = Infinity;
    for (let i = 0; i < 3; i++) {
      const c0 = process.cpuUsage();
      try {
        await target.check(slowest as T);
      } catch {
        // It passed during the run; a failure now is not this figure's business.
      }
      slowestRetimedMs = Math.min(slowestRetimedMs, cpuMs(c0));
    }
  }
  await target.teardown?.();
  collect();
  const heapEnd = process.memoryUsage().heapUsed;
  if (heapEnd > peak) peak = heapEnd;

  const report: TargetReport = {
    name: target.name,
    runs: result.numRuns,
    failures: result.failed ? 1 : 0,
    seed,
    slowestMs,
    slowestInput: slowest === undefined ? '' : show(slowest),
    slowestRetimedMs,
    slowestWallMs: slowestWall,
    maxWallMs,
    timeMs,
    heapGrowthBytes: heapEnd - heapStart,
    peakHeapBytes: peak,
    known: takeKnown(),
    interrupted: result.interrupted,
  };
  if (result.failed) {
    report.counterexample = result.counterexample ? show(result.counterexample[0]) : '(none)';
    report.error = result.errorInstance instanceof Error ? result.errorInstance.message.slice(0, 2000) : String(result.errorInstance);
    report.path = result.counterexamplePath ?? undefined;
  }
  if (report.heapGrowthBytes > MAX_HEAP_GROWTH_BYTES && !result.failed) {
    report.failures = 1;
    report.error = `heap grew by ${(report.heapGrowthBytes / 1048576).toFixed(0)} MB over the run (limit ${MAX_HEAP_GROWTH_BYTES / 1048576} MB)`;
  }
  return report;
}
