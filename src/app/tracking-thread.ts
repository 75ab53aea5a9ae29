/**
 * Runs the recipients' routes (open pixel, tracked links, unsubscribe) in a worker thread
 * with its own HTTP port (tracking.listen), so that a burst of pixel fetches and scanner
 * clicks takes the other core instead of the thread that renders, signs and sends mail.
 * The main API keeps serving the same routes, so links sent before stay valid. Needs a
 * database another thread can open: a SQLite file or PostgreSQL.
 */
import { Worker } from 'node:worker_threads';
import { within } from '../lib/within.ts';
import type { Config } from '../config/index.ts';

export interface TrackingThreadData {
  databaseUrl: string;
  secret: string;
  host: string;
  port: number;
  policyDir: string | null;
  trustedProxies: string[];
  logLevel: Config['log']['level'];
  logFormat: Config['log']['format'];
}

export type TrackingThreadMessage =
  | { kind: 'listening'; url: string }
  | { kind: 'written'; events: number }
  | { kind: 'stopped' }
  | { kind: 'failed'; message: string; code: string | null };

export interface TrackingThread {
  url: string;
  stop(): Promise<void>;
}

export async function startTrackingThread(config: Config, secret: string, onWritten: (events: number) => void): Promise<TrackingThread> {
  const listen = config.tracking.listen!;
  const data: TrackingThreadData = {
    databaseUrl: config.database.url,
    secret,
    host: listen.host,
    port: listen.port,
    policyDir: config.policy.dir ?? null,
    trustedProxies: config.http.trustedProxies,
    logLevel: config.log.level,
    logFormat: config.log.format,
  };
  const worker = new Worker(new URL('./tracking-worker.mjs', import.meta.url), { workerData: data });
  let stopped: (() => void) | null = null;
  const url = await new Promise<string>((resolve, reject) => {
    const fail = (err: Error) => {
      void worker.terminate();
      reject(err);
    };
    worker.on('message', (m: TrackingThreadMessage) => {
      if (m.kind === 'listening') resolve(m.url);
      else if (m.kind === 'written') onWritten(m.events);
      else if (m.kind === 'stopped') stopped?.();
      else if (m.kind === 'failed') fail(Object.assign(new Error(m.message), { code: m.code ?? undefined }));
    });
    worker.on('error', fail);
    worker.on('exit', (code) => reject(new Error(`the tracking thread ended (exit code ${code})`)));
  });
  return {
    url,
    async stop() {
      const done = new Promise<void>((resolve) => {
        stopped = resolve;
        worker.once('exit', () => resolve());
      });
      worker.postMessage({ kind: 'stop' });
      await within(done, 5000);
      await worker.terminate();
    },
  };
}
