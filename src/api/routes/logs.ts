/**
 * Delivery logs: a delivery's logs filtered by status, failure type and reason, domain,
 * address, complaints and automatic replies, with their total, next try and CSV export (streamed), paged by keyset (`after` = the `next` of the previous page); one log with its
 * history of events (every attempt, reply and bounce mail), by id or by the Message-ID of
 * its message.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Readable } from 'node:stream';
import { countLogs, getCounters, getDeliveryRow, getLog, listLogs, LogStatus, logStatusFromName, type LogFilter, type LogView } from '../../deliveries/index.ts';
import { eventsForLog, type EventPayload, type EventType } from '../../events/index.ts';
import { csvLine } from '../csv.ts';
import { invalidInput, notFound } from '../../lib/errors.ts';
import { domainOf } from '../../mail/address.ts';
import { messageIdFor, readMessageIdParts } from '../../mail/verp.ts';
import { isFailureReason, isFailureType, type FailureReason, type FailureType } from '../../mail/failure.ts';
import type { ApiContext } from '../context.ts';
import { errorSchema, idParams, logDetailSchema as detailSchema, logPageSchema } from '../schemas.ts';

/** Event types the list reads; typed, so a renamed event type breaks the build here. */
const DEFERRED: EventType = 'deferred';
const AUTO_REPLIED: EventType = 'auto-replied';

const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);

export async function logRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['delivery logs'];

  const filterQuery = z.object({
    status: z.string().optional().describe('comma-separated: pending, taken, sent, failed, ignored, cancelled'),
    failureType: z.string().optional().describe('comma-separated: Hard, Soft, Ignored, Not defined'),
    failureReason: z.string().optional().describe('comma-separated failure reasons, e.g. User unknown'),
    domain: z.string().optional(),
    q: z.string().optional().describe('part of the address'),
    flag: z.string().optional().describe('comma-separated: complained (the recipient complained), auto-replied (an automatic reply came back)'),
  });
  const filterOf = (query: z.infer<typeof filterQuery>): LogFilter => {
    const statuses = list(query.status).map((s) => logStatusFromName(s) ?? badValue('status', s, 'pending, taken, sent, failed, ignored, cancelled')) as LogStatus[];
    const failureTypes = list(query.failureType).map((t) => (isFailureType(t) ? t : badValue('failureType', t, 'Hard, Soft, Ignored, Not defined'))) as FailureType[];
    const failureReasons = list(query.failureReason).map((t) => (isFailureReason(t) ? t : badValue('failureReason', t, 'a Campaign failure reason such as "User unknown"'))) as FailureReason[];
    const flags = list(query.flag).map((f) => (f === 'complained' || f === 'auto-replied' ? f : badValue('flag', f, 'complained, auto-replied')));
    return { statuses, failureTypes, failureReasons, domain: query.domain, search: query.q, complained: flags.includes('complained'), withEvent: flags.includes('auto-replied') ? [AUTO_REPLIED] : undefined };
  };

  // A stream's logs are a delivery's logs: the same list under its own path too.
  for (const path of ['/deliveries/:id/logs', '/streams/:id/logs']) r.get(path, {
    schema: {
      tags: path.startsWith('/streams') ? ['streams'] : tags,
      summary: path.startsWith('/streams') ? "A stream's logs (the same list as a delivery's)" : "A delivery's logs",
      params: idParams,
      querystring: filterQuery.extend({
        after: z.coerce.number().int().optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      response: { 200: logPageSchema, 400: errorSchema, 404: errorSchema },
    },
  }, async (req) => {
    await getDeliveryRow(ctx.db.kysely, req.params.id);
    const filter = filterOf(req.query);
    const [page, total] = await Promise.all([listLogs(ctx.db.kysely, req.params.id, { ...filter, after: req.query.after, limit: req.query.limit }), totalOf(req.params.id, filter)]);
    return { ...page, total, logs: await withNextAttempts(page.logs) };
  });

  r.get('/deliveries/:id/logs.csv', {
    schema: {
      tags,
      summary: "A delivery's logs as CSV, with the same filters as the list, streamed (any size)",
      params: idParams,
      querystring: filterQuery,
      response: { 400: errorSchema, 404: errorSchema },
    },
  }, async (req, reply) => {
    await getDeliveryRow(ctx.db.kysely, req.params.id);
    const filter = filterOf(req.query);
    const id = req.params.id;
    const db = ctx.db.kysely;
    async function* rows(): AsyncGenerator<string> {
      yield csvLine(['address', 'status', 'failure type', 'failure reason', 'attempts', 'last reply', 'next attempt', 'complained at', 'auto-replies', 'sent at', 'updated at']);
      // Keyset pages of 1,000: memory stays flat at a million rows, and a slow client slows the reads.
      for (let after: number | undefined; ; ) {
        const page = await listLogs(db, id, { ...filter, after, limit: 1000 });
        for (const l of await withNextAttempts(page.logs)) yield csvLine([l.address, l.statusLabel, l.failureType ?? '', l.failureReason ?? '', l.attempts, l.reply ?? '', l.nextAttemptAt ?? '', l.complainedAt ?? '', l.autoReplies, l.sentAt ?? '', l.updatedAt]);
        if (page.next === null) return;
        after = page.next;
      }
    }
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="delivery-${id}-logs.csv"`)
      .send(Readable.from(rows()) as never);
  });

  /**
   * How many logs pass the filter. Filtered by status only (or not at all), the delivery's
   * counters already know, at no cost at a million logs; other filters count the logs.
   */
  async function totalOf(deliveryId: number, filter: LogFilter): Promise<number> {
    const statusOnly = !filter.failureTypes?.length && !filter.failureReasons?.length && !filter.domain && !filter.search && !filter.complained && !filter.withEvent?.length;
    if (!statusOnly) return countLogs(ctx.db.kysely, deliveryId, filter);
    const counters = await getCounters(ctx.db.kysely, deliveryId);
    const wanted = filter.statuses?.length ? filter.statuses : Object.values(LogStatus);
    return wanted.reduce((a, s) => a + (counters[`status:${s}`] ?? 0), 0);
  }

  /** The page's logs with their next try (from the last deferral) and automatic replies, in two indexed reads. */
  async function withNextAttempts(logs: LogView[]) {
    const ids = logs.map((l) => l.id);
    const events = ids.length
      ? await ctx.db.kysely.selectFrom('events').select(['log_id', 'id', 'type', 'payload']).where('log_id', 'in', ids).where('type', 'in', [DEFERRED, AUTO_REPLIED]).orderBy('id').execute()
      : [];
    const next = new Map<number, number | null>();
    const auto = new Map<number, number>();
    for (const e of events) {
      const logId = Number(e.log_id);
      if (e.type === AUTO_REPLIED) auto.set(logId, (auto.get(logId) ?? 0) + 1);
      else next.set(logId, (JSON.parse(e.payload) as EventPayload).nextAttemptAt ?? null);
    }
    return logs.map((l) => {
      const at = l.status === 'taken' || l.status === 'pending' ? next.get(l.id) : null;
      return { ...l, nextAttemptAt: at ? new Date(Number(at)).toISOString() : null, autoReplies: auto.get(l.id) ?? 0 };
    });
  }

  const detail = async (id: number) => {
    const log = await getLog(ctx.db.kysely, id);
    const delivery = await getDeliveryRow(ctx.db.kysely, log.deliveryId);
    const events = await eventsForLog(ctx.db.kysely, id);
    return {
      ...log,
      messageId: (await storedMessageId(ctx.db.kysely, log.id)) ?? messageIdFor(ctx.secret, log.deliveryId, log.id, domainOf(delivery.from_address)),
      history: events.map((e) => ({ id: e.id, type: e.type, occurredAt: new Date(e.occurredAt).toISOString(), appliedAt: e.appliedAt ? new Date(e.appliedAt).toISOString() : null, payload: e.payload, note: e.note ?? null })),
    };
  };

  r.get('/logs/:id', {
    schema: { tags, summary: 'One delivery log with its history', params: idParams, response: { 200: detailSchema, 404: errorSchema } },
  }, async (req) => detail(req.params.id));

  r.get('/logs/by-message-id', {
    schema: {
      tags,
      summary: 'The delivery log of a message, found by its Message-ID (from a complaint, a recipient, a receiving MTA\'s log)',
      querystring: z.object({ messageId: z.string().min(1).describe('e.g. <12.2s.k3j9x0qa@shop.example>, angle brackets optional') }),
      response: { 200: detailSchema, 400: errorSchema, 404: errorSchema },
    },
  }, async (req) => {
    // The Message-ID carries the log id with a signature: no index needed, and no guessing.
    // The older format signed only the log id, so its delivery id and domain are checked here.
    const missing = () => notFound(`a message of this instance with Message-ID ${req.query.messageId}`);
    const parts = readMessageIdParts(ctx.secret, req.query.messageId);
    if (parts === null) throw missing();
    const found = await detail(parts.logId);
    if (found.deliveryId !== parts.deliveryId || !found.messageId.toLowerCase().endsWith(`@${parts.domain}>`)) throw missing();
    return found;
  });
}

function badValue(field: string, value: string, expected: string): never {
  throw invalidInput(`${field}: unknown value "${value}"; expected ${expected}`);
}

/** A stream log's stored Message-ID (a delivery's logs have none: it is computed). */
async function storedMessageId(q: ApiContext['db']['kysely'], logId: number): Promise<string | null> {
  return (await q.selectFrom('delivery_logs').select('message_id').where('id', '=', logId).executeTakeFirst())?.message_id ?? null;
}
