/**
 * Deliveries as a resource: create, list, read (with KPIs and the analysis), edit, and
 * import the target (CSV or JSON).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createDelivery, countTarget, deliveryCreateSchema, deliveryUpdateSchema, getDelivery, getDeliveryRow, importTarget, jsonTarget, listDeliveries, readCsvTarget, stateFromName, updateDelivery, type DeliveryView } from '../../deliveries/index.ts';
import { getKpis, getKpisMany } from '../../reports/index.ts';
import { invalidInput } from '../../lib/errors.ts';
import type { ApiContext } from '../context.ts';
import { IMPORT_BODY_LIMIT } from '../body-parsing.ts';
import { analysisSchema, deliveryDetailSchema, deliveryListSchema, errorSchema, idParams, recipientsImportedSchema } from '../schemas.ts';

export async function deliveryRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['deliveries'];

  const detail = async (view: DeliveryView) => {
    const row = await getDeliveryRow(ctx.db.kysely, view.id);
    return {
      ...view,
      recipients: await countTarget(ctx.db, view.id),
      kpis: await getKpis(ctx.db.kysely, view.id),
      analysis: row.analysis ? JSON.parse(row.analysis) : null,
      analysisProgress: ctx.analysis.progress(view.id),
    };
  };

  /** Errors of each delivery's analysis of its current content: they block its confirmation. */
  const analysisErrors = async (ids: number[]): Promise<Map<number, number>> => {
    if (!ids.length) return new Map();
    const rows = await ctx.db.kysely.selectFrom('deliveries').select(['id', 'analysis', 'analyzed_version', 'content_version']).where('id', 'in', ids).where('analysis', 'is not', null).execute();
    return new Map(rows.filter((r) => r.analyzed_version === r.content_version).map((r) => [Number(r.id), Number((JSON.parse(r.analysis!) as { errors?: number }).errors ?? 0)]));
  };

  r.post('/deliveries', {
    bodyLimit: IMPORT_BODY_LIMIT,
    schema: { tags, summary: 'Create a delivery (optionally with its recipients)', body: deliveryCreateSchema, response: { 201: deliveryDetailSchema, 400: errorSchema } },
  }, async (req, reply) => {
    const view = await createDelivery(ctx.db, req.body, ctx.defaults, actor(req));
    return reply.status(201).send(await detail(view));
  });

  r.get('/deliveries', {
    schema: {
      tags,
      summary: 'List deliveries, newest first',
      querystring: z.object({ state: z.string().optional().describe('comma-separated state names, e.g. in-progress,paused'), limit: z.coerce.number().int().min(1).max(1000).default(100), before: z.coerce.number().int().optional() }),
      response: { 200: deliveryListSchema, 400: errorSchema },
    },
  }, async (req) => {
    const states = req.query.state?.split(',').map((s) => {
      const code = stateFromName(s.trim());
      if (code === undefined) throw invalidInput(`unknown state "${s}"`);
      return code;
    });
    const deliveries = await listDeliveries(ctx.db, { states, limit: req.query.limit, beforeId: req.query.before });
    // The list shows progress and success for each row: two queries for the whole page.
    const kpis = await getKpisMany(ctx.db.kysely, deliveries.map((d) => d.id));
    const errors = await analysisErrors(deliveries.map((d) => d.id));
    return { deliveries: deliveries.map((d) => ({ ...d, kpis: kpis.get(d.id)!, analysisErrors: errors.get(d.id) ?? null })) };
  });

  r.get('/deliveries/:id', {
    schema: { tags, summary: 'A delivery with its KPIs and analysis report', params: idParams, response: { 200: deliveryDetailSchema, 404: errorSchema } },
  }, async (req) => detail(await getDelivery(ctx.db, req.params.id)));

  r.patch('/deliveries/:id', {
    bodyLimit: IMPORT_BODY_LIMIT,
    schema: { tags, summary: 'Edit a delivery (it must be analyzed again)', params: idParams, body: deliveryUpdateSchema, response: { 200: deliveryDetailSchema, 400: errorSchema, 404: errorSchema, 409: errorSchema } },
  }, async (req) => detail(await updateDelivery(ctx.db, req.params.id, req.body, ctx.defaults, actor(req))));

  r.put('/deliveries/:id/recipients', {
    bodyLimit: IMPORT_BODY_LIMIT,
    schema: {
      tags,
      summary: 'Import the target: CSV (text/csv, an "email" column plus personalization columns) or a JSON array of objects',
      params: idParams,
      querystring: z.object({ mode: z.enum(['replace', 'append']).default('replace') }),
      body: z.union([z.array(z.record(z.string(), z.unknown())), z.instanceof(Buffer)]),
      response: { 200: recipientsImportedSchema, 400: errorSchema, 404: errorSchema, 409: errorSchema },
    },
  }, async (req) => {
    const rows = Buffer.isBuffer(req.body) ? readCsvTarget(req.body) : jsonTarget(req.body);
    return importTarget(ctx.db, req.params.id, rows, req.query.mode, actor(req));
  });

  r.get('/deliveries/:id/analysis', {
    schema: { tags, summary: 'The latest analysis report', params: idParams, response: { 200: analysisSchema, 404: errorSchema } },
  }, async (req, reply) => {
    const row = await getDeliveryRow(ctx.db.kysely, req.params.id);
    if (!row.analysis) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'this delivery has not been analyzed yet' } });
    return JSON.parse(row.analysis);
  });
}

/** Who the audit trail names: the signed-in user, or "<name> (API key)". */
export function actor(req: { user?: { name: string } }): string {
  return req.user?.name ?? 'api';
}
