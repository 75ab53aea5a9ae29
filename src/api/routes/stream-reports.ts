/**
 * A message stream's figures over a time window, since a stream never finishes: the streams
 * list with each stream's window (messages, delivered %, bounced %, last message), and one
 * stream's KPIs, throughput (every bucket of the window, empty ones too) and failures by
 * type and reason in the window; and changing a stream's settings (PATCH).
 *
 * The KPIs count the delivery logs written in the window (one per recipient of each message)
 * by their current status, read through the (delivery, id) index from the window's first log:
 * the cost grows with the messages in the window, not with the stream's age. The throughput
 * counts outcomes at the minute they happened (the per-minute counters the delivery charts
 * read), so a message sent yesterday and bounced today is in today's bar.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { failureReasonFromCode, failureTypeFromCode, getStreamRow, listStreams, LogStatus, MINUTE_PREFIX } from '../../deliveries/index.ts';
import { updateStream } from '../../deliveries/stream-settings.ts';
import { firstLogIdSince } from '../../deliveries/log-window.ts';
import { parseDuration } from '../../lib/duration.ts';
import { invalidInput } from '../../lib/errors.ts';
import type { Q } from '../../db/index.ts';
import type { ApiContext } from '../context.ts';
import { errorSchema, idParams } from '../schemas.ts';
import { streamSchema } from '../stream-schemas.ts';
import { streamReportSchema, streamSummarySchema, streamUpdateSchema, streamWindowQuery } from '../stream-report-schemas.ts';
import { actor } from './deliveries.ts';

const MAX_WINDOW_MS = 90 * 86_400_000;
/** Bucket widths for the chart: the narrowest that keeps the window within about 120 bars. */
const BUCKETS_S = [60, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400];
const pct = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 10000) / 100 : 0);

function windowOf(since: string, now = Date.now()): { from: number; to: number } {
  let ms: number;
  try {
    ms = parseDuration(since);
  } catch (err) {
    throw invalidInput(`since: ${(err as Error).message}`);
  }
  if (ms < 60_000 || ms > MAX_WINDOW_MS) throw invalidInput('since: between one minute and 90 days, e.g. 1h, 24h, 7d');
  return { from: now - ms, to: now };
}

/** The stream's logs written since `from`, counted by status, type and reason, in one grouped read. */
async function windowKpis(q: Q, streamId: number, from: number) {
  const firstId = await firstLogIdSince(q, streamId, from);
  const rows = firstId === null ? [] : await q
    .selectFrom('delivery_logs')
    .select((eb) => ['status', 'failure_type', 'failure_reason', eb.fn.countAll<number>().as('n'), eb.fn.count<number>('complained_at').as('complaints'), eb.fn.count<number>('opened_at').as('opened'), eb.fn.count<number>('clicked_at').as('clicked')])
    .where('delivery_id', '=', streamId)
    .where('id', '>=', firstId)
    .where('created_at', '>=', from)
    .groupBy(['status', 'failure_type', 'failure_reason'])
    .execute();
  const last = await q.selectFrom('delivery_logs').select('created_at').where('delivery_id', '=', streamId).orderBy('id', 'desc').limit(1).executeTakeFirst();
  const k = { messages: 0, waiting: 0, sent: 0, failed: 0, cancelled: 0, ignored: 0, hardBounces: 0, softBounces: 0, complaints: 0, opened: 0, clicked: 0 };
  const reasons = new Map<string, { failureType: string; failureReason: string; count: number }>();
  for (const r of rows) {
    const n = Number(r.n);
    const status = Number(r.status);
    k.messages += n;
    k.complaints += Number(r.complaints);
    k.opened += Number(r.opened);
    k.clicked += Number(r.clicked);
    if (status === LogStatus.Pending || status === LogStatus.Taken) k.waiting += n;
    else if (status === LogStatus.Sent) k.sent += n;
    else if (status === LogStatus.Cancelled) k.cancelled += n;
    else if (status === LogStatus.Ignored) k.ignored += n;
    else if (status === LogStatus.Failed) {
      k.failed += n;
      const failureType = failureTypeFromCode(Number(r.failure_type)) ?? 'Not defined';
      const failureReason = failureReasonFromCode(r.failure_reason === null ? null : Number(r.failure_reason)) ?? 'Not defined';
      if (failureType === 'Hard') k.hardBounces += n;
      if (failureType === 'Soft') k.softBounces += n;
      const key = `${failureType}|${failureReason}`;
      const entry = reasons.get(key) ?? { failureType, failureReason, count: 0 };
      entry.count += n;
      reasons.set(key, entry);
    }
  }
  const byReason = [...reasons.values()].sort((a, b) => b.count - a.count).map((r) => ({ ...r, percentOfFailures: pct(r.count, k.failed) }));
  return {
    kpis: { ...k, deliveredPercent: pct(k.sent, k.messages), bouncedPercent: pct(k.failed, k.messages), lastMessageAt: last ? new Date(Number(last.created_at)).toISOString() : null },
    failures: { total: k.failed, byReason },
  };
}

/** Outcomes per bucket over the window, from the per-minute counters; empty buckets included. */
async function windowThroughput(q: Q, streamId: number, from: number, to: number) {
  const bucketSeconds = BUCKETS_S.find((s) => (to - from) / (s * 1000) <= 120) ?? 86_400;
  const bucketMs = bucketSeconds * 1000;
  const first = Math.floor(from / bucketMs) * bucketMs;
  const points = Array.from({ length: Math.floor((to - first) / bucketMs) + 1 }, (_, i) => ({ minute: new Date(first + i * bucketMs).toISOString(), sent: 0, failed: 0 }));
  const rows = await q.selectFrom('delivery_counters').select(['name', 'value']).where('delivery_id', '=', streamId).where('name', 'like', `${MINUTE_PREFIX}%`).execute();
  for (const r of rows) {
    const [, minute, kind] = r.name.split(':');
    const at = Number(minute) * 60_000;
    if (at < first || at > to) continue;
    const p = points[Math.floor((at - first) / bucketMs)];
    if (kind === 'sent') p.sent += Number(r.value);
    else if (kind === 'failed') p.failed += Number(r.value);
  }
  return { bucketSeconds, points };
}

export async function streamReportRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['streams'];
  const q = ctx.db.kysely;

  r.get('/streams/summary', {
    schema: { tags, summary: 'Every stream with its figures over a recent window (the streams list)', querystring: streamWindowQuery, response: { 200: streamSummarySchema, 400: errorSchema } },
  }, async (req) => {
    const { from, to } = windowOf(req.query.since);
    const streams = await listStreams(q);
    const withWindow = [];
    for (const s of streams) withWindow.push({ ...s, window: (await windowKpis(q, s.id, from)).kpis });
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), streams: withWindow };
  });

  r.get('/streams/:id/report', {
    schema: {
      tags,
      summary: "The stream's KPIs, throughput and failures over a recent window (a stream never finishes)",
      params: idParams,
      querystring: streamWindowQuery,
      response: { 200: streamReportSchema, 400: errorSchema, 404: errorSchema },
    },
  }, async (req) => {
    const stream = await getStreamRow(q, req.params.id);
    const { from, to } = windowOf(req.query.since);
    const { kpis, failures } = await windowKpis(q, Number(stream.id), from);
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), kpis, throughput: await windowThroughput(q, Number(stream.id), from, to), failures };
  });

  r.patch('/streams/:id', {
    schema: { tags, summary: "Change a stream's settings: messages sent from now on follow them", params: idParams, body: streamUpdateSchema, response: { 200: streamSchema, 400: errorSchema, 404: errorSchema } },
  }, async (req) => updateStream(ctx.db, req.params.id, req.body, ctx.defaults, actor(req)));
}
