/**
 * Stored templates of the send API: create (operator), list and read (viewer), replace,
 * delete. A message names one with `template` (id or name) and gives `data`; rendering and
 * the missing-field check are streams/templates.ts's.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createTemplate, deleteTemplate, getTemplate, listTemplates, updateTemplate } from '../../streams/index.ts';
import type { ApiContext } from '../context.ts';
import { errorSchema } from '../schemas.ts';
import { templateInputSchema, templateListSchema, templateSchema } from '../stream-schemas.ts';
import { actor } from './deliveries.ts';

const refParams = z.object({ id: z.string().min(1).max(200).describe('the template id or name') });

export async function templateRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['templates'];
  const q = ctx.db.kysely;

  r.post('/templates', {
    schema: { tags, summary: 'Store a template (subject, HTML, text with personalization) for the send API', body: templateInputSchema, response: { 201: templateSchema, 400: errorSchema, 409: errorSchema } },
  }, async (req, reply) => reply.status(201).send(await createTemplate(q, req.body, actor(req))));

  r.get('/templates', { schema: { tags, summary: 'List stored templates', response: { 200: templateListSchema } } }, async () => ({ templates: await listTemplates(q) }));

  r.get('/templates/:id', { schema: { tags, summary: 'A stored template', params: refParams, response: { 200: templateSchema, 404: errorSchema } } }, async (req) => getTemplate(q, req.params.id));

  r.put('/templates/:id', {
    schema: { tags, summary: 'Replace a template: messages sent from now on use the new version', params: refParams, body: templateInputSchema, response: { 200: templateSchema, 400: errorSchema, 404: errorSchema, 409: errorSchema } },
  }, async (req) => updateTemplate(q, req.params.id, req.body));

  r.delete('/templates/:id', {
    schema: { tags, summary: 'Delete a template (messages already sent keep their content)', params: refParams, response: { 204: z.null(), 404: errorSchema } },
  }, async (req, reply) => {
    await deleteTemplate(q, req.params.id);
    return reply.status(204).send(null);
  });
}
