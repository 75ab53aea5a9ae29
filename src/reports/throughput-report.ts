/**
 * Throughput in buckets that fit the delivery's length, with the current rate and an
 * estimated end: seconds-wide buckets for a short delivery (read from the logs' outcome
 * times, which the per-minute counters cannot split), minutes or hours for a long one (read
 * from the per-minute counters, so the cost does not grow with the delivery's size). About
 * 60 to 120 bars whatever the length. The estimate is the messages left at the rate of the
 * last minutes; the validity period may end the delivery sooner, which the caller shows.
 */
import { sql } from 'kysely';
import type { Q } from '../db/index.ts';
import { getCounters, getDeliveryRow, LogStatus } from '../deliveries/index.ts';
import { getThroughput } from './throughput.ts';

export interface ThroughputReport {
  bucketSeconds: number;
  /** Bucket starts (ISO 8601, `minute` for the older per-minute answer) with their outcomes. */
  points: { minute: string; sent: number; failed: number }[];
  /** Messages that became Sent or Failed per minute, over the last minute (short) or five (long). */
  currentPerMinute: number;
  /** To deliver, not yet Sent or Failed. */
  remaining: number;
  /** When the remaining messages are done at the current rate; null when nothing is moving. */
  estimatedEndAt: string | null;
}

/** Seconds-wide buckets are read from the logs only while the delivery is this short. */
const SHORT_MS = 10 * 60_000;
const SECOND_BUCKETS = [5, 10, 15, 30];
const MINUTE_BUCKETS = [1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440];
const MAX_BARS = 120;

export async function getThroughputReport(q: Q, deliveryId: number, now = Date.now()): Promise<ThroughputReport> {
  const row = await getDeliveryRow(q, deliveryId);
  const counters = await getCounters(q, deliveryId);
  const processed = (counters[`status:${LogStatus.Sent}`] ?? 0) + (counters[`status:${LogStatus.Failed}`] ?? 0);
  const remaining = Math.max(0, Number(row.to_deliver) - processed);
  const start = row.started_at === null ? null : Number(row.started_at);
  const end = row.finished_at === null ? now : Number(row.finished_at);
  const running = row.finished_at === null && start !== null;
  if (start === null) return { bucketSeconds: 60, points: [], currentPerMinute: 0, remaining, estimatedEndAt: null };

  const span = Math.max(1, end - start);
  let bucketSeconds: number;
  let points: ThroughputReport['points'];
  let currentPerMinute: number;
  if (span <= SHORT_MS) {
    bucketSeconds = SECOND_BUCKETS.find((s) => span / (s * 1000) <= MAX_BARS) ?? 30;
    const ms = bucketSeconds * 1000;
    // Integer division on both databases (bigint / integer in PostgreSQL, integers in SQLite).
    const bucket = sql<number>`event_at / ${sql.lit(ms)}`;
    const rows = await q
      .selectFrom('delivery_logs')
      .select([bucket.as('b'), 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('delivery_id', '=', deliveryId)
      .where('status', 'in', [LogStatus.Sent, LogStatus.Failed])
      // Failures written by the analysis (personalization) happened before the start: not throughput.
      .where('event_at', '>=', start)
      .groupBy([bucket, 'status'])
      .execute();
    const byBucket = new Map<number, { sent: number; failed: number }>();
    for (const r of rows) {
      const b = Number(r.b);
      const p = byBucket.get(b) ?? { sent: 0, failed: 0 };
      if (Number(r.status) === LogStatus.Sent) p.sent += Number(r.n);
      else p.failed += Number(r.n);
      byBucket.set(b, p);
    }
    points = fill(Math.floor(start / ms), Math.floor(end / ms), (b) => ({ minute: new Date(b * ms).toISOString(), ...(byBucket.get(b) ?? { sent: 0, failed: 0 }) }));
    const lastMinute = [...byBucket.entries()].filter(([b]) => (b + 1) * ms > end - 60_000).reduce((a, [, p]) => a + p.sent + p.failed, 0);
    currentPerMinute = lastMinute * (60_000 / Math.min(60_000, span));
  } else {
    const minutes = await getThroughput(q, deliveryId);
    const minuteSpan = span / 60_000;
    const width = MINUTE_BUCKETS.find((m) => minuteSpan / m <= MAX_BARS) ?? 1440;
    const ms = width * 60_000;
    const byBucket = new Map<number, { sent: number; failed: number }>();
    for (const m of minutes) {
      const b = Math.floor(Date.parse(m.minute) / ms);
      const p = byBucket.get(b) ?? { sent: 0, failed: 0 };
      p.sent += m.sent;
      p.failed += m.failed;
      byBucket.set(b, p);
    }
    bucketSeconds = width * 60;
    points = fill(Math.floor(start / ms), Math.floor(end / ms), (b) => ({ minute: new Date(b * ms).toISOString(), ...(byBucket.get(b) ?? { sent: 0, failed: 0 }) }));
    // The last five whole minutes: one minute is too noisy when retries come in waves.
    const nowMinute = Math.floor(end / 60_000);
    const recent = minutes.filter((m) => {
      const t = Date.parse(m.minute) / 60_000;
      return t >= nowMinute - 5 && t < nowMinute;
    });
    currentPerMinute = recent.reduce((a, m) => a + m.sent + m.failed, 0) / 5;
  }
  currentPerMinute = Math.round(currentPerMinute * 10) / 10;
  const estimatedEndAt = running && remaining > 0 && currentPerMinute > 0 ? new Date(now + (remaining / currentPerMinute) * 60_000).toISOString() : null;
  return { bucketSeconds, points, currentPerMinute: running ? currentPerMinute : 0, remaining, estimatedEndAt };
}

function fill<T>(first: number, last: number, make: (b: number) => T): T[] {
  const out: T[] = [];
  for (let b = first; b <= last && out.length <= 2 * MAX_BARS; b++) out.push(make(b));
  return out;
}
