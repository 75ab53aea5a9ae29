/**
 * The webhook thread's work: its own database connection and a WebhookDispatcher on it.
 * Wakes on the main thread's word, tells it the counts (at most once a second, for the
 * metrics), and stops on its word. Runs in a worker thread only (thread.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../db/index.ts';
import { createLogger, type LoggerOptions } from '../lib/logger.ts';
import { WebhookDispatcher } from './dispatcher.ts';
import type { WebhookThreadData, WebhookThreadMessage } from './thread.ts';

const data = workerData as WebhookThreadData;
const post = (m: WebhookThreadMessage) => parentPort!.postMessage(m);

async function main(): Promise<void> {
  const logger = createLogger({ level: data.logLevel as LoggerOptions['level'], format: data.logFormat as LoggerOptions['format'] }).child({ component: 'webhooks' });
  const db = await openDatabase(data.databaseUrl, { migrate: false });
  const dispatcher = new WebhookDispatcher({ db, logger, secret: data.secret, timeoutMs: data.timeoutMs, retry: data.retry, batchSize: data.batchSize, concurrency: data.concurrency });
  const counts = setInterval(() => post({ kind: 'counts', counts: [...dispatcher.counts].map(([id, c]) => [id, { ...c }]) }), 1000);
  dispatcher.start();
  parentPort!.on('message', async (m: { kind: 'wake' | 'stop' }) => {
    if (m.kind === 'wake') return dispatcher.wake();
    clearInterval(counts);
    await dispatcher.stop();
    post({ kind: 'counts', counts: [...dispatcher.counts] });
    await db.close();
    post({ kind: 'stopped' });
  });
}

main().catch((err: Error) => post({ kind: 'failed', message: err.message }));
