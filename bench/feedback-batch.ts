/**
 * `npx tsx bench/feedback-batch.ts [--events N] [--batch B] [--only sqlite|postgres] [--json]`
 *
 * The feedback service's own cost, without the MTA or the sender: N delivery logs Taken by
 * the MTA and one unapplied `delivered` event each (written straight into a fresh database:
 * a SQLite file with synchronous commits, then a fresh schema of DATABASE_URL or of
 * postgres://postgres@127.0.0.1:5432/test), then FeedbackService.step() until every event
 * is applied, B events a step (default 2,000, the service's default). Prints, per database,
 * the time of a step (p50 / max), events applied per second, this process's CPU per event
 * and, on PostgreSQL, the server backends' CPU per event. It is the part of the feedback
 * delay that is the service's own: a step's time is how long the next outcome waits behind
 * a batch. Not measured here: the MTA's writes competing for the same rows.
 */
import { loadavg } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertChunked, openDatabase, type Db } from '../src/db/index.ts';
import { FeedbackService } from '../src/feedback/index.ts';
import { LogStatus } from '../src/deliveries/log-status.ts';
import { DeliveryState } from '../src/deliveries/states.ts';
import { createBenchSchema, postgresMissing } from './lib/postgres-schema.ts';
import { percentile } from './lib/proc.ts';
import { silentLogger } from '../src/lib/logger.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const N = Number(option('events', '20000'));
const BATCH = Number(option('batch', '2000'));
const ONLY = option('only', '');
const json = args.includes('--json');
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
const POLICY = { maxErrors: 5, significantErrorDelayMs: 6 * 3_600_000, resetAfterMs: 30 * 86_400_000, mailboxFullReleaseMs: 7 * 86_400_000 };

async function main() {
  const result: Record<string, unknown> = { events: N, batch: BATCH, loadAverageAtStart: loadavg().map((l) => round(l, 2)) };
  if (ONLY !== 'postgres') {
    const dir = mkdtempSync(join(tmpdir(), 'estafeta-fb-'));
    try {
      const db = await openDatabase(`sqlite:${join(dir, 'estafeta.db')}`);
      try {
        result.sqlite = await measure(db);
      } finally {
        await db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (ONLY !== 'sqlite' && !(await postgresMissing())) {
    const schema = await createBenchSchema();
    try {
      const db = await openDatabase(schema.url);
      try {
        const backends = schema.trackBackends();
        result.postgres = await measure(db, async () => (await backends.stop()).cpuMs);
      } finally {
        await db.close();
      }
    } finally {
      await schema.drop();
    }
  }
  result.loadAverageAtEnd = loadavg().map((l) => round(l, 2));
  process.stdout.write(JSON.stringify(result, null, json ? undefined : 2) + '\n');
}

async function measure(db: Db, databaseCpu?: () => Promise<number>): Promise<Record<string, unknown>> {
  const now = Date.now();
  const d = await db.kysely
    .insertInto('deliveries')
    .values({ label: 'fb', state: DeliveryState.InProgress, from_name: '', from_address: 'news@shop.bench', reply_to: null, subject: 'Hi', html: null, text: 'Hi', headers: '{}', unsubscribe_url: null, validity_ms: 86_400_000, created_at: now, updated_at: now } as never)
    .returning('id')
    .executeTakeFirstOrThrow();
  const deliveryId = Number(d.id);
  await insertChunked(db.kysely, 'delivery_logs', Array.from({ length: N }, (_, i) => ({ delivery_id: deliveryId, row_no: i + 1, address: `user${i}@sink.bench`, domain: 'sink.bench', status: LogStatus.Taken, failure_type: 0, failure_reason: null, reply: null, message_id: null, attempts: 0, event_at: now, created_at: now, updated_at: now })) as never);
  const logIds = (await db.kysely.selectFrom('delivery_logs').select('id').where('delivery_id', '=', deliveryId).orderBy('id').execute()).map((r) => Number(r.id));
  await insertChunked(db.kysely, 'events', logIds.map((logId) => ({ key: `fb.${logId}`, type: 'delivered', log_id: logId, delivery_id: deliveryId, occurred_at: now, payload: JSON.stringify({ reply: '250 2.0.0 Ok: queued as 4ABC', sourceIp: '127.0.0.1' }), applied_at: null, created_at: now })) as never);
  await db.kysely.insertInto('delivery_counters').values({ delivery_id: deliveryId, name: `status:${LogStatus.Taken}`, value: N }).execute();

  const feedback = new FeedbackService({ db, logger: silentLogger, quarantinePolicy: () => POLICY, batchSize: BATCH });
  const steps: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (;;) {
    const t = performance.now();
    const n = await feedback.step();
    if (!n) break;
    steps.push(performance.now() - t);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const dbCpu = await databaseCpu?.();
  const sent = Number((await db.kysely.selectFrom('delivery_logs').select((eb) => eb.fn.countAll<number>().as('n')).where('delivery_id', '=', deliveryId).where('status', '=', LogStatus.Sent).executeTakeFirstOrThrow()).n);
  if (sent !== N) throw new Error(`expected ${N} logs Sent, found ${sent}`);
  const sorted = [...steps].sort((a, b) => a - b);
  return {
    steps: steps.length,
    stepMs: { p50: round(percentile(sorted, 50)), max: round(sorted[sorted.length - 1]) },
    eventsPerSecond: Math.round(N / seconds),
    cpuMsPerEvent: round((cpu.user + cpu.system) / 1000 / N, 3),
    ...(dbCpu === undefined ? {} : { databaseCpuMsPerEvent: round(dbCpu / N, 3) }),
  };
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
