/**
 * Moves SQLite's checkpoints (copying the write-ahead log back into the database file, with
 * a disk flush of each) off the main thread. SQLite runs them inside the commit that
 * crosses its threshold, which with the MTA's 10 KB message bodies meant a checkpoint every
 * few hundred messages, during which SMTP sessions and API requests waited. Here a worker thread with its own connection runs a PASSIVE
 * checkpoint (it never blocks writers) every quarter second when something was written,
 * and the main connection keeps SQLite's own checkpoints only as a safety net, at 64 MB of
 * log. If the worker fails, the caller puts SQLite's default threshold back.
 */
import { Worker } from 'node:worker_threads';
import { within } from '../lib/within.ts';

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly timer: NodeJS.Timeout;
  private written = false;
  private running = false;
  private failed = false;

  constructor(
    file: string,
    private readonly onFailure: (err: Error) => void,
    intervalMs = 250,
  ) {
    this.worker = new Worker(new URL('./checkpoint-worker.mjs', import.meta.url), { workerData: { file } });
    this.worker.unref();
    this.worker.on('message', (r: { ok: boolean; error?: string }) => {
      this.running = false;
      if (!r.ok) this.fail(new Error(`WAL checkpoint failed: ${r.error}`));
    });
    this.worker.on('error', (err) => this.fail(err));
    this.timer = setInterval(() => this.tick(), intervalMs).unref();
  }

  noteWrite(): void {
    this.written = true;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.failed) return;
    this.failed = true;
    // Let the worker close its connection before this one closes (the last one out removes the log).
    this.worker.ref();
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('close');
    await within(exited, 2000);
    await this.worker.terminate();
  }

  private tick(): void {
    if (this.running || !this.written || this.failed) return;
    this.written = false;
    this.running = true;
    this.worker.postMessage('checkpoint');
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    clearInterval(this.timer);
    this.onFailure(err);
  }
}
