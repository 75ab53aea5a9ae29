/**
 * Delivery logs: a delivery's logs filtered by status, failure type and reason, domain and
 * address, paged by keyset (`after` = the `next` of the previous page); one log with its
 * history of events (every attempt, reply and bounce mail).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getDeliveryRow, getLog, listLogs, logStatusFromName, type LogStatus } from '../../deliveries/index.ts';
import { eventsForLog } from '../../events/index.ts';
import { invalidInput } from '../../lib/errors.ts';
import { isFailureReason, isFailureType, type FailureReason, type FailureType } from '../../mail/failure.ts';
import type { ApiContext } from '../context.ts';
import { errorSchema, eventSchema, idParams, logSchema } from '../schemas.ts';

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
      response: { 200: z.object({ logs: z.array(logSchema), next: z.number().nullable() }), 400: errorSchema, 404: errorSchema },
    },
  }, async (req) => {
    await getDeliveryRow(ctx.db.kysely, req.params.id);
    const statuses = list(req.query.status).map((s) => logStatusFromName(s) ?? badValue('status', s, 'pending, taken, sent, failed, ignored, cancelled')) as LogStatus[];
    const failureTypes = list(req.query.failureType).map((t) => (isFailureType(t) ? t : badValue('failureType', t, 'Hard, Soft, Ignored, Not defined'))) as FailureType[];
    const failureReasons = list(req.query.failureReason).map((t) => (isFailureReason(t) ? t : badValue('failureReason', t, 'a Campaign failure reason such as "User unknown"'))) as FailureReason[];
    return listLogs(ctx.db.kysely, req.params.id, { statuses, failureTypes, failureReasons, domain: req.query.domain, search: req.query.q, after: req.query.after, limit: req.query.limit });
  });

  r.get('/logs/:id', {
    schema: { tags, summary: 'One delivery log with its history', params: idParams, response: { 200: logSchema.extend({ history: z.array(eventSchema) }), 404: errorSchema } },
  }, async (req) => {
    const log = await getLog(ctx.db.kysely, req.params.id);
    const events = await eventsForLog(ctx.db.kysely, req.params.id);
    return {
      ...log,
      history: events.map((e) => ({ id: e.id, type: e.type, occurredAt: new Date(e.occurredAt).toISOString(), appliedAt: e.appliedAt ? new Date(e.appliedAt).toISOString() : null, payload: e.payload })),
    };
  });
}

function badValue(field: string, value: string, expected: string): never {
  throw invalidInput(`${field}: unknown value "${value}"; expected ${expected}`);
}
