/**
 * A watchdog thread for inputs that never return. The fuzzed code runs on the main thread,
 * so a synchronous infinite loop cannot be interrupted from it; a worker watches the start
 * time of the current input in shared memory and, past WATCHDOG_MS, prints which target,
 * seed and input number hung (replay with --target, --seed and --path) and kills the process.
 *
 * Costs two writes to shared memory per input. Not started by the smoke test.
 */
import { Worker } from 'node:worker_threads';

const WATCHDOG_MS = 30_000;
const shared = new Float64Array(new SharedArrayBuffer(3 * 8));
let names: string[] = [];
let worker: Worker | null = null;

export function markInputStart(target: string, seed: number, index: number): void {
  if (!worker) return;
  let t = names.indexOf(target);
  if (t < 0) {
    names.push(target);
    t = names.length - 1;
    worker.postMessage({ names });
  }
  shared[1] = t * 2 ** 32 + (seed >>> 0);
  shared[2] = index;
  shared[0] = Date.now();
}

export function markInputEnd(): void {
  if (worker) shared[0] = 0;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const shared = new Float64Array(workerData.buffer);
let names = [];
parentPort.on('message', (m) => { names = m.names; });
setInterval(() => {
  const started = shared[0];
  if (started > 0 && Date.now() - started > ${WATCHDOG_MS}) {
    const t = Math.floor(shared[1] / 2 ** 32);
    const seed = (shared[1] % 2 ** 32) | 0;
    process.stderr.write('HANG: target ' + names[t] + ' has been on input ' + shared[2] + ' for more than ${WATCHDOG_MS / 1000} s; the seed was ' + seed + ' (replay: npm run fuzz -- --target ' + names[t] + ' --seed ' + seed + ' and the path printed by fast-check, or --runs ' + (shared[2] + 1) + ')\\n');
    process.kill(process.pid, 'SIGKILL');
  }
}, 1000).unref();
`;

export function startWatchdog(): void {
  if (worker) return;
  worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { buffer: shared.buffer } });
  worker.unref();
}
