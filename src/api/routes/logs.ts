/**
 * Delivery logs: a delivery's logs filtered by status, failure type and reason, domain and
 * address, paged by keyset (`after` = the `next` of the previous page); one log with its
 * history of events (every attempt, reply and bounce mail), by id or by the Message-ID of
 * its message.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getDeliveryRow, getLog, listLogs, logStatusFromName, type LogStatus } from '../../deliveries/index.ts';
import { eventsForLog } from '../../events/index.ts';
import { invalidInput, notFound } from '../../lib/errors.ts';
import { domainOf } from '../../mail/address.ts';
import { messageIdFor, readMessageIdParts } from '../../mail/verp.ts';
import { isFailureReason, isFailureType, type FailureReason, type FailureType } from '../../mail/failure.ts';
import type { ApiContext } from '../context.ts';
import { errorSchema, idParams, logDetailSchema as detailSchema, logPageSchema } from '../schemas.ts';

const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);

export async function logRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['delivery logs'];

  r.get('/deliveries/:id/logs', {
    schema: {
      tags,
      summary: "A delivery's logs",
      params: idParams,
      querystring: z.object({
        status: z.string().optional().describe('comma-separated: pending, taken, sent, failed, ignored, cancelled'),
        failureType: z.string().optional().describe('comma-separated: Hard, Soft, Ignored, Not defined'),
        failureReason: z.string().optional().describe('comma-separated failure reasons, e.g. User unknown'),
        domain: z.string().optional(),
        q: z.string().optional().describe('part of the address'),
        after: z.coerce.number().int().optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      response: { 200: logPageSchema, 400: errorSchema, 404: errorSchema },
    },
  }, async (req) => {
    await getDeliveryRow(ctx.db.kysely, req.params.id);
    const statuses = list(req.query.status).map((s) => logStatusFromName(s) ?? badValue('status', s, 'pending, taken, sent, failed, ignored, cancelled')) as LogStatus[];
    const failureTypes = list(req.query.failureType).map((t) => (isFailureType(t) ? t : badValue('failureType', t, 'Hard, Soft, Ignored, Not defined'))) as FailureType[];
    const failureReasons = list(req.query.failureReason).map((t) => (isFailureReason(t) ? t : badValue('failureReason', t, 'a Campaign failure reason such as "User unknown"'))) as FailureReason[];
    return listLogs(ctx.db.kysely, req.params.id, { statuses, failureTypes, failureReasons, domain: req.query.domain, search: req.query.q, after: req.query.after, limit: req.query.limit });
  });

  const detail = async (id: number) => {
    const log = await getLog(ctx.db.kysely, id);
    const delivery = await getDeliveryRow(ctx.db.kysely, log.deliveryId);
    const events = await eventsForLog(ctx.db.kysely, id);
    return {
      ...log,
      messageId: messageIdFor(ctx.secret, log.deliveryId, log.id, domainOf(delivery.from_address)),
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
