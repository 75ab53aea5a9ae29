/**
 * Retention: the logs and events of final deliveries older than the retention go, in small
 * batches, one short transaction each with a pause between, so that neither database holds
 * a long lock and PostgreSQL's autovacuum reclaims the space as it goes (rows deleted, never
 * a table rewritten). The delivery rows and their counters stay, so reports and the KPIs
 * still show every figure; the delivery's audit trail says when and how much was purged.
 *
 * Run hourly by the feedback role (app/start.ts) and by `estafeta purge`. Not here: what a
 * log or an event is (deliveries/, events/ own them and do the deleting).
 */
import type { Db } from '../db/index.ts';
import { countDeliveryLogs, deleteLogs, deliveriesToPurge, logIdsAfter, markPurged, PURGED } from '../deliveries/index.ts';
import { countEventsOfDelivery, deleteEventsOfLogs, webhookHorizon } from '../events/index.ts';

export interface PurgeOptions {
  /** Logs (with their events) of deliveries finished before this instant go; null keeps them. */
  logsBefore: number | null;
  /** Events of deliveries finished before this instant go, their logs stay; null keeps them. */
  eventsBefore: number | null;
  /** Count what would go, delete nothing. */
  dryRun?: boolean;
  /** Logs per transaction (default 2000). */
  batchSize?: number;
  /** Pause between transactions, so that other writers get the database (default 20 ms). */
  pauseMs?: number;
  /** Told after each delivery. */
  onDelivery?(deliveryId: number, purged: { logs: number; events: number }): void;
  /** Told after each batch's transaction: what it deleted and how long it held its locks. */
  onBatch?(batch: { deliveryId: number; logs: number; events: number; ms: number }): void;
}

export interface PurgeReport {
  dryRun: boolean;
  /** Deliveries whose logs or events were purged (or would be). */
  deliveries: number;
  logs: number;
  events: number;
  /** Logs (or, for the events' retention, events) kept back for a later run: an event not applied or not posted to a webhook yet. */
  keptBack: number;
  ms: number;
}

export async function purgeOldData(db: Db, o: PurgeOptions): Promise<PurgeReport> {
  const started = Date.now();
  const report: PurgeReport = { dryRun: Boolean(o.dryRun), deliveries: 0, logs: 0, events: 0, keptBack: 0, ms: 0 };
  const batch = o.batchSize ?? 2000;
  const pause = () => new Promise((r) => setTimeout(r, o.pauseMs ?? 20));
  const q = db.kysely;
  const horizon = await webhookHorizon(q);
  const runs: { what: keyof typeof PURGED; before: number }[] = [];
  if (o.logsBefore !== null) runs.push({ what: 'logs', before: o.logsBefore });
  // Events older than their retention, of deliveries whose logs stay.
  if (o.eventsBefore !== null) runs.push({ what: 'events', before: o.eventsBefore });
  for (const run of runs) {
    const olderThan = new Date(run.before).toISOString();
    for (let after = 0; ; ) {
      const page = await deliveriesToPurge(q, run.what, run.before, after);
      if (!page.length) break;
      after = page[page.length - 1].id;
      for (const d of page) {
        // A delivery old enough for both is the logs' run's, which takes its events too.
        if (run.what === 'events' && o.logsBefore !== null && d.finishedAt < o.logsBefore) continue;
        const done = { logs: 0, events: 0 };
        if (o.dryRun) {
          done.events = await countEventsOfDelivery(q, d.id);
          if (run.what === 'logs') done.logs = await countDeliveryLogs(q, d.id);
        } else {
          let keptBack = 0;
          for (let last = 0; ; ) {
            const ids = await logIdsAfter(q, d.id, last, batch);
            if (!ids.length) break;
            last = ids[ids.length - 1];
            const t0 = performance.now();
            const deleted = await db.tx(async (t) => {
              const events = await deleteEventsOfLogs(t, ids, horizon);
              const logs = run.what === 'logs' ? await deleteLogs(t, ids) : 0;
              return { events, logs };
            });
            o.onBatch?.({ deliveryId: d.id, ...deleted, ms: performance.now() - t0 });
            done.events += deleted.events;
            if (run.what === 'logs') {
              done.logs += deleted.logs;
              keptBack += ids.length - deleted.logs;
            }
            await pause();
          }
          // Events not applied yet, or still owed to a webhook, wait for a later run.
          if (run.what === 'events') keptBack = await countEventsOfDelivery(q, d.id);
          report.keptBack += keptBack;
          // A delivery with logs kept back is walked again at the next run.
          if (!keptBack) await markPurged(q, d.id, run.what, { ...done, olderThan });
        }
        if (done.logs || done.events) report.deliveries++;
        report.logs += done.logs;
        report.events += done.events;
        o.onDelivery?.(d.id, done);
      }
    }
  }
  report.ms = Date.now() - started;
  return report;
}
