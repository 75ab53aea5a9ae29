/**
 * Runs the webhook dispatcher in a worker thread with its own database connection, so that
 * reading events, building documents, signing and posting take the other core, not the
 * thread that renders, signs and sends mail (issue 17: webhook sending never slows the MTA).
 * The main thread wakes it when delivery logs change and keeps a copy of its counts for the
 * metrics. start.ts uses it on PostgreSQL only: on SQLite the thread's own writing
 * connection stalled in SQLite's busy waits while a delivery ran (every claim and cursor
 * move is a write), so there the dispatcher runs in the main thread. A thread that ends
 * unexpectedly is logged at error and started again after a few seconds.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../lib/logger.ts';
import { within } from '../lib/within.ts';
import type { RetryPolicy } from './retry.ts';
import type { DispatcherCounts } from './dispatcher.ts';

/** What start.ts runs: the dispatcher itself, or this thread around it. */
export interface WebhookRunner {
  start(): void;
  wake(): void;
  stop(): Promise<void>;
  readonly counts: ReadonlyMap<number, DispatcherCounts>;
}

export interface WebhookThreadData {
  databaseUrl: string;
  secret: string;
  timeoutMs: number;
  retry: RetryPolicy;
  batchSize: number;
  concurrency: number;
  logLevel: string;
  logFormat: string;
}

export type WebhookThreadMessage =
  | { kind: 'counts'; counts: [number, DispatcherCounts][] }
  | { kind: 'stopped' }
  | { kind: 'failed'; message: string };

const RESTART_MS = 5000;

export class WebhookThread implements WebhookRunner {
  counts = new Map<number, DispatcherCounts>();
  private worker: Worker | null = null;
  private stopping = false;
  private restart: NodeJS.Timeout | null = null;

  constructor(private readonly data: WebhookThreadData, private readonly logger: Logger) {}

  start(): void {
    const worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: this.data, name: 'estafeta-webhooks' });
    this.worker = worker;
    worker.on('message', (m: WebhookThreadMessage) => {
      if (m.kind === 'counts') this.counts = new Map(m.counts);
      else if (m.kind === 'failed') this.logger.error({ err: m.message }, 'the webhook thread failed');
    });
    worker.on('error', (err) => this.logger.error({ err }, 'the webhook thread failed'));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      if (this.stopping) return;
      this.logger.error({ code }, `the webhook thread ended; started again in ${RESTART_MS / 1000} s`);
      this.restart = setTimeout(() => this.start(), RESTART_MS);
    });
  }

  wake(): void {
    this.worker?.postMessage({ kind: 'wake' });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restart) clearTimeout(this.restart);
    const worker = this.worker;
    if (!worker) return;
    const done = new Promise<void>((resolve) => {
      worker.on('message', (m: WebhookThreadMessage) => m.kind === 'stopped' && resolve());
      worker.once('exit', () => resolve());
    });
    worker.postMessage({ kind: 'stop' });
    // A POST in flight ends within webhooks.timeout; the thread is ended after that in any case.
    await within(done, this.data.timeoutMs + 2000);
    await worker.terminate();
  }
}
