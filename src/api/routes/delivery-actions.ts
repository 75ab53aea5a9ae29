/**
 * Operator actions on a delivery: analyze, confirm, pause, resume, stop; its KPIs and its
 * audit trail. Illegal transitions answer 409 with the actions the state allows.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { confirmDelivery, getDeliveryRow, listAudit, pauseDelivery, resumeDelivery, stopDelivery, assertAction } from '../../deliveries/index.ts';
import { getDomainBreakdown, getFailureBreakdown, getKpis, getLinkReport, getThroughputReport } from '../../reports/index.ts';
import type { ApiContext } from '../context.ts';
import { csvLine } from '../csv.ts';
import { analysisSchema, auditTrailSchema, deliverySchema, domainsSchema, errorSchema, failuresSchema, idParams, kpisSchema, linkReportSchema, throughputSchema } from '../schemas.ts';
import { actor } from './deliveries.ts';

export async function deliveryActionRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['deliveries'];

  r.post('/deliveries/:id/analyze', {
    schema: {
      tags,
      summary: 'Analyze: compute the target, exclusions, personalization and checks. Waits for the report unless wait=false.',
      params: idParams,
      querystring: z.object({ wait: z.enum(['true', 'false']).default('true') }),
      response: { 200: analysisSchema, 202: z.object({ status: z.literal('analyzing') }), 404: errorSchema, 409: errorSchema },
    },
  }, async (req, reply) => {
    // Check the transition now so an illegal request fails fast instead of in the background.
    assertAction('analyze', (await getDeliveryRow(ctx.db.kysely, req.params.id)).state);
    const running = ctx.analysis.run(req.params.id, actor(req));
    if (req.query.wait === 'false') {
      running.catch((err) => ctx.logger.error({ err, deliveryId: req.params.id }, 'analysis failed'));
      return reply.status(202).send({ status: 'analyzing' as const });
    }
    return running;
  });

  const actions = { confirm: confirmDelivery, pause: pauseDelivery, resume: resumeDelivery, stop: stopDelivery } as const;
  for (const [name, fn] of Object.entries(actions)) {
    r.post(`/deliveries/:id/${name}`, {
      schema: { tags, summary: `${name[0].toUpperCase()}${name.slice(1)} the delivery`, params: idParams, response: { 200: deliverySchema, 404: errorSchema, 409: errorSchema } },
    }, async (req) => {
      const view = await fn(ctx.db, req.params.id, actor(req));
      ctx.signals?.emit('delivery:changed', { deliveryId: req.params.id, action: name });
      return view;
    });
  }

  r.get('/deliveries/:id/kpis', {
    schema: { tags, summary: "The delivery's KPIs (live)", params: idParams, response: { 200: kpisSchema, 404: errorSchema } },
  }, async (req) => getKpis(ctx.db.kysely, req.params.id));

  r.get('/deliveries/:id/links', {
    schema: { tags, summary: 'Tracked links with their clicks and unique clicks by people', params: idParams, response: { 200: linkReportSchema, 404: errorSchema } },
  }, async (req) => {
    await getDeliveryRow(ctx.db.kysely, req.params.id);
    return getLinkReport(ctx.db.kysely, req.params.id);
  });

  r.get('/deliveries/:id/throughput', {
    schema: {
      tags,
      summary: "Messages that became Sent or Failed over the delivery's life, in buckets that fit its length, with the current rate and an estimated end",
      params: idParams,
      response: { 200: throughputSchema, 404: errorSchema },
    },
  }, async (req) => getThroughputReport(ctx.db.kysely, req.params.id));

  r.get('/deliveries/:id/domains', {
    schema: {
      tags,
      summary: 'Per recipient domain (largest first, 20 at most): delivered, deferred, failed and waiting',
      params: idParams,
      response: { 200: domainsSchema, 404: errorSchema },
    },
  }, async (req) => {
    await getDeliveryRow(ctx.db.kysely, req.params.id);
    return { domains: await getDomainBreakdown(ctx.db.kysely, req.params.id) };
  });

  r.get('/deliveries/:id/failures', {
    schema: {
      tags,
      summary: 'Non-deliverables and bounces: failures by type and reason, and by recipient domain',
      params: idParams,
      response: { 200: failuresSchema, 404: errorSchema },
    },
  }, async (req) => {
    await getDeliveryRow(ctx.db.kysely, req.params.id);
    return getFailureBreakdown(ctx.db.kysely, req.params.id);
  });

  r.get('/deliveries/:id/domains.csv', {
    schema: { tags, summary: 'Every recipient domain as CSV: recipients, delivered, deferred, failed, waiting', params: idParams, response: { 404: errorSchema } },
  }, async (req, reply) => {
    await getDeliveryRow(ctx.db.kysely, req.params.id);
    const rows = await getDomainBreakdown(ctx.db.kysely, req.params.id, Number.MAX_SAFE_INTEGER);
    const body = [csvLine(['domain', 'recipients', 'delivered', 'deferred', 'failed', 'waiting', 'failed %']), ...rows.map((r) => csvLine([r.domain, r.recipients, r.sent, r.deferred, r.failed, r.waiting, r.failedPercent]))].join('');
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="delivery-${req.params.id}-domains.csv"`).send(body as never);
  });

  r.get('/deliveries/:id/failures.csv', {
    schema: { tags, summary: 'Failures by type and reason as CSV', params: idParams, response: { 404: errorSchema } },
  }, async (req, reply) => {
    await getDeliveryRow(ctx.db.kysely, req.params.id);
    const f = await getFailureBreakdown(ctx.db.kysely, req.params.id);
    const body = [csvLine(['failure type', 'failure reason', 'failed', '% of failures']), ...f.byReason.map((r) => csvLine([r.failureType, r.failureReason, r.count, r.percentOfFailures]))].join('');
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="delivery-${req.params.id}-failures.csv"`).send(body as never);
  });

  r.get('/deliveries/:id/audit', {
    schema: { tags, summary: 'Who did what and when', params: idParams, response: { 200: auditTrailSchema, 404: errorSchema } },
  }, async (req) => {
    await getDeliveryRow(ctx.db.kysely, req.params.id);
    return { entries: await listAudit(ctx.db.kysely, req.params.id) };
  });
}
