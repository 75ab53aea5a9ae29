/**
 * A small pool of worker threads that compute DKIM signatures off the main thread: an
 * RSA-2048 signature costs 0.3 to 0.6 ms of CPU, more than the whole budget of a message at
 * a thousand messages a second. A batch is split into one chunk per worker; each chunk's
 * messages travel packed in one transferred buffer (no per-message copies) and only the
 * signature header lines come back. Workers start on first use and are unref'd, so an idle
 * pool never keeps the process alive. Not here: which keys sign (the key cache).
 */
import { Worker } from 'node:worker_threads';
import type { Canonicalization, DkimAlgorithm } from './sign.ts';

export interface PoolKey {
  id: number;
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  /** PKCS#8 PEM. */
  privateKey: string;
}

export interface SignJob {
  id: number;
  keys: PoolKey[];
  packed: ArrayBuffer;
  /** Message i is packed[offsets[i] .. offsets[i+1]). */
  offsets: number[];
  time: number;
  canonicalization: Canonicalization;
}

export type SignReply = { id: number; headers: string[]; error?: undefined } | { id: number; error: string };

interface Slot {
  worker: Worker;
  jobs: Map<number, { resolve: (h: string[]) => void; reject: (e: Error) => void }>;
}

/** Chunks smaller than this are not worth a second worker's round trip. */
const MIN_CHUNK = 16;

export class SignPool {
  private slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly size: number) {}

  /** The DKIM-Signature lines for each message, in order. */
  async sign(messages: Buffer[], keys: PoolKey[], options: { time: number; canonicalization: Canonicalization }): Promise<string[]> {
    if (this.closed) throw new Error('the DKIM signing pool is closed');
    if (!messages.length || !keys.length) return messages.map(() => '');
    const parts = Math.max(1, Math.min(this.size, Math.ceil(messages.length / MIN_CHUNK)));
    const per = Math.ceil(messages.length / parts);
    const chunks: Promise<string[]>[] = [];
    for (let i = 0; i < messages.length; i += per) chunks.push(this.run(this.pick(), messages.slice(i, i + per), keys, options));
    return (await Promise.all(chunks)).flat();
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots;
    this.slots = [];
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private run(slot: Slot, messages: Buffer[], keys: PoolKey[], options: { time: number; canonicalization: Canonicalization }): Promise<string[]> {
    const offsets = [0];
    for (const m of messages) offsets.push(offsets[offsets.length - 1] + m.length);
    // A fresh ArrayBuffer of our own: Node's small Buffers share a pool that must not be transferred.
    const packed = new Uint8Array(offsets[offsets.length - 1]);
    messages.forEach((m, i) => packed.set(m, offsets[i]));
    const id = this.nextId++;
    return new Promise<string[]>((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      slot.worker.ref();
      const job: SignJob = { id, keys, packed: packed.buffer, offsets, ...options };
      slot.worker.postMessage(job, [packed.buffer]);
    });
  }

  /** The least busy worker, starting one while the pool is below its size. */
  private pick(): Slot {
    const idle = this.slots.find((s) => s.jobs.size === 0);
    if (idle) return idle;
    if (this.slots.length < this.size) return this.spawn();
    return this.slots.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./sign-worker.mjs', import.meta.url));
    const slot: Slot = { worker, jobs: new Map() };
    worker.unref();
    worker.on('message', (r: SignReply) => {
      const job = slot.jobs.get(r.id);
      if (!job) return;
      slot.jobs.delete(r.id);
      if (slot.jobs.size === 0) worker.unref();
      if (r.error !== undefined) job.reject(new Error(`DKIM signing failed: ${r.error}`));
      else job.resolve(r.headers);
    });
    const fail = (err: Error) => {
      // A dead worker's jobs fail (the caller may sign another way); the next batch starts a new one.
      this.slots = this.slots.filter((s) => s !== slot);
      for (const job of slot.jobs.values()) job.reject(err);
      slot.jobs.clear();
    };
    worker.on('error', (err) => fail(err));
    worker.on('exit', (code) => fail(new Error(`DKIM signing worker exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }
}
