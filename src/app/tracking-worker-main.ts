/**
 * The tracking thread's work: its own database connection, machine-engagement policy and
 * recorder, and an HTTP server with only the recipients' routes on tracking.listen. Tells
 * the main thread when it listens and each time events were written (so the feedback
 * service wakes); stops on the main thread's word. Runs in a worker thread only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../db/index.ts';
import { createLogger } from '../lib/logger.ts';
import type { Emitter } from '../lib/signals.ts';
import { PolicyWatcher } from '../config/policy-file.ts';
import { loadMachineEngagement } from '../config/machine-engagement.ts';
import { agentMatcher, TrackingRecorder } from '../tracking/index.ts';
import type { EventSignals } from '../events/index.ts';
import { buildTrackingServer } from '../api/tracking-server.ts';
import type { TrackingThreadData, TrackingThreadMessage } from './tracking-thread.ts';

const data = workerData as TrackingThreadData;
const post = (m: TrackingThreadMessage) => parentPort!.postMessage(m);

async function main(): Promise<void> {
  const logger = createLogger({ level: data.logLevel, format: data.logFormat });
  const db = await openDatabase(data.databaseUrl, { migrate: false });
  const engagement = new PolicyWatcher('machine-engagement.yaml', data.policyDir, loadMachineEngagement, (err) => logger.error({ err: err.message }, 'policy file change refused'));
  engagement.watch(3000);
  let matcher = { policy: engagement.value, agents: agentMatcher(engagement.value.agents) };
  // The main thread's feedback service is woken through the thread's message port.
  const signals: Emitter<EventSignals> = { emit: (_name, p) => post({ kind: 'written', events: p.events }) };
  const recorder = new TrackingRecorder({
    db,
    logger: logger.child({ component: 'tracking' }),
    agents: () => (matcher.policy === engagement.value ? matcher : (matcher = { policy: engagement.value, agents: agentMatcher(engagement.value.agents) })).agents,
    burstMs: () => engagement.value.timing.burstMs,
    signals,
  });
  const app = await buildTrackingServer({ db, secret: data.secret, recorder, logger, trustedProxies: data.trustedProxies });
  const url = await app.listen({ host: data.host, port: data.port });
  recorder.start();
  post({ kind: 'listening', url });
  parentPort!.on('message', async (m: { kind: 'stop' }) => {
    if (m.kind !== 'stop') return;
    await app.close();
    await recorder.stop();
    engagement.stop();
    await db.close();
    post({ kind: 'stopped' });
  });
}

main().catch((err: Error) => post({ kind: 'failed', message: err.message, code: (err as NodeJS.ErrnoException).code ?? null }));
