/**
 * Process helpers for the benchmark: run a command and time it, start a long-running one,
 * read CPU time (a process, one of its threads, the whole machine) and resident memory
 * (current and peak) from /proc, find free ports, and percentiles.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs a command to completion; rejects with its stderr when it fails. */
export function run(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<{ ms: number; stdout: string; stderr: string }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve({ ms: performance.now() - start, stdout, stderr }) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`))));
  });
}

export function startDaemon(cmd: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess & { output(): string } {
  const p = spawn(cmd, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  p.stdout?.on('data', keep);
  p.stderr?.on('data', keep);
  return Object.assign(p, { output: () => output });
}

export function stopDaemon(p: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  // Ended already (by itself, or by a signal such as the terminal's Ctrl-C to the whole group): no 'exit' will come.
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill(signal);
  });
}

const TICKS = 100; // USER_HZ on Linux

/** CPU time (user + system) of a process, all its threads, in milliseconds. */
export function cpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/stat`);
}

/** CPU time of one thread of a process (the main thread's id is the process id). */
export function threadCpuMs(pid: number, tid = pid): number {
  return statCpuMs(`/proc/${pid}/task/${tid}/stat`);
}

/**
 * CPU time of a process's threads, summed by thread name (Node's main thread is "node",
 * worker threads are named by Node or the project, V8's helpers "V8 DefaultWorke", libuv's
 * pool "libuv-worker"), in milliseconds. Threads that ended are not counted.
 */
export function threadsCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const label = Number(tid) === pid ? 'main' : name;
      out.set(label, (out.get(label) ?? 0) + statCpuMs(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return out;
}

function statCpuMs(path: string): number {
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / TICKS) * 1000;
}

/**
 * CPU time the whole machine spent busy (every process, kernel included; idle, I/O wait and
 * time stolen by the hypervisor excluded), summed over its cores, in milliseconds.
 */
export function machineCpuMs(): number {
  const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return ((user + nice + system + irq + softirq) / TICKS) * 1000;
}

/** Resident memory now and at its peak (VmHWM), in megabytes. */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Writes the disk's dirty pages and waits a moment, so that a timed phase does not pay for
 * the write-back of the phase before it (Postfix leaves 50,000 queue files behind).
 */
export async function settle(): Promise<void> {
  await run('sync', []);
  await sleep(500);
}
