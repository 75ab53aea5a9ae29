/**
 * Bounce qualification (Campaign's delivery log qualification table) and the inbound mail
 * the bounce listener received, for operators to qualify failure texts nothing matched and
 * to look at bounces that could not be parsed or tied to a delivery.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listQualifications, requalify } from '../../qualification/index.ts';
import { FAILURE_REASONS, FAILURE_TYPES, type FailureReason, type FailureType } from '../../mail/failure.ts';
import { notFound } from '../../lib/errors.ts';
import type { ApiContext } from '../context.ts';
import { errorSchema, idParams } from '../schemas.ts';
import { actor } from './deliveries.ts';
import { inboundMailDetailSchema, inboundMailListSchema, qualificationListSchema, qualificationSchema } from '../bounce-schemas.ts';
import { readInboundMail } from '../read-inbound-mail.ts';

export async function bounceRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['bounces'];

  r.get('/bounces/qualifications', {
    schema: {
      tags,
      summary: 'Distinct failure texts (normalized), most frequent first',
      querystring: z.object({ status: z.enum(['to-qualify', 'keep', 'ignore']).optional(), source: z.enum(['sync', 'async']).optional(), q: z.string().optional(), offset: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      response: { 200: qualificationListSchema },
    },
  }, async (req) => ({ entries: await listQualifications(ctx.db.kysely, { status: req.query.status, source: req.query.source, search: req.query.q, offset: req.query.offset, limit: req.query.limit }) }));

  r.post('/bounces/qualifications/requalify', {
    schema: {
      tags,
      summary: 'Qualify a failure text: later failures with the same normalized text get this type and reason (ignore: never quarantines)',
      body: z.object({
        key: z.string(),
        failureType: z.enum(FAILURE_TYPES as unknown as [FailureType, ...FailureType[]]),
        failureReason: z.enum(FAILURE_REASONS as [FailureReason, ...FailureReason[]]),
        status: z.enum(['keep', 'ignore']).default('keep'),
        occurrences: z.number().int().min(0).optional(),
      }),
      response: { 200: qualificationSchema, 404: errorSchema },
    },
  }, async (req) => {
    const entry = await requalify(ctx.db.kysely, req.body.key, req.body, actor(req));
    ctx.signals?.emit('qualifications:changed', { key: req.body.key });
    return entry;
  });

  r.get('/bounces/inbound', {
    schema: {
      tags,
      summary: 'Mail received by the bounce listener, newest first',
      querystring: z.object({ status: z.string().optional().describe('processed, to-qualify, unmatched, unparsable, ignored, received'), before: z.coerce.number().int().optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }),
      response: { 200: inboundMailListSchema },
    },
  }, async (req) => {
    let q = ctx.db.kysely.selectFrom('inbound_mails').select(['id', 'received_at', 'mail_from', 'rcpt_to', 'size', 'status', 'kind', 'log_id', 'detail']).orderBy('id', 'desc').limit(req.query.limit);
    if (req.query.status) q = q.where('status', '=', req.query.status);
    if (req.query.before) q = q.where('id', '<', req.query.before);
    const rows = await q.execute();
    return {
      mails: rows.map((m) => ({ id: Number(m.id), receivedAt: new Date(Number(m.received_at)).toISOString(), from: m.mail_from, to: m.rcpt_to, size: m.size, status: m.status, kind: m.kind, logId: m.log_id === null ? null : Number(m.log_id), detail: m.detail ? JSON.parse(m.detail) : null })),
    };
  });

  r.get('/bounces/inbound/:id', {
    schema: { tags, summary: 'One received mail for reading: its headers and text parts (HTML turned into text)', params: idParams, response: { 200: inboundMailDetailSchema, 404: errorSchema } },
  }, async (req) => {
    const row = await ctx.db.kysely.selectFrom('inbound_mails').select(['id', 'received_at', 'mail_from', 'rcpt_to', 'size', 'status', 'kind', 'log_id', 'raw']).where('id', '=', req.params.id).executeTakeFirst();
    if (!row) throw notFound(`inbound mail ${req.params.id}`);
    const parsed = await readInboundMail(Buffer.from(row.raw));
    return { id: Number(row.id), receivedAt: new Date(Number(row.received_at)).toISOString(), from: row.mail_from, to: row.rcpt_to, size: row.size, status: row.status, kind: row.kind, logId: row.log_id === null ? null : Number(row.log_id), ...parsed };
  });

  r.get('/bounces/inbound/:id/raw', {
    schema: { tags, summary: 'The raw message as received', params: idParams, response: { 404: errorSchema } },
  }, async (req, reply) => {
    const row = await ctx.db.kysely.selectFrom('inbound_mails').select(['raw']).where('id', '=', req.params.id).executeTakeFirst();
    if (!row) throw notFound(`inbound mail ${req.params.id}`);
    return reply.type('message/rfc822').send(Buffer.from(row.raw) as never);
  });
}
