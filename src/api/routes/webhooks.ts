/**
 * Webhook endpoints: register one (its secret is in that answer only), list them, read one
 * with its recent attempts, delete, enable again after Estafeta disabled it, replay a time
 * window, and send a signed test event. Everything that creates, changes or sends needs
 * admin, because a webhook sends every recipient's events to a URL of the caller's choice (a
 * request from the server to any address: docs/WEBHOOKS.md, "Who may do what"). Reading needs
 * operator (viewers see no endpoints: where the data goes and what receivers answer is not
 * theirs to read), and only an admin sees an endpoint's URL in full; others get its origin,
 * as the path or query often holds a token. No answer but the creation's carries the secret.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createEndpoint, deleteEndpoint, enableEndpoint, getEndpoint, listEndpoints, recentAttempts, redactedUrl, replayEndpoint, sendTestEvent, type EndpointView } from '../../webhooks/index.ts';
import { allows } from '../../auth/index.ts';
import { parseDuration } from '../../lib/duration.ts';
import type { ApiContext } from '../context.ts';
import { errorSchema, idParams } from '../schemas.ts';
import { webhookCreatedSchema, webhookCreateSchema, webhookDetailSchema, webhookEndpointSchema, webhookListSchema, webhookReplayedSchema, webhookReplaySchema, webhookTestResultSchema } from '../webhook-schemas.ts';

export async function webhookRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const admin = { access: 'admin' as const };
  const operator = { access: 'operator' as const };
  const shown = (role: Parameters<typeof allows>[0] | undefined, w: EndpointView): EndpointView => (role && allows(role, 'admin') ? w : { ...w, url: redactedUrl(w.url) });
  const q = ctx.db.kysely;
  const tags = ['webhooks'];

  r.post('/webhooks', {
    config: admin,
    schema: { tags, summary: 'Register a webhook endpoint: the signing secret is in this answer only', body: webhookCreateSchema, response: { 201: webhookCreatedSchema, 400: errorSchema } },
  }, async (req, reply) => {
    const { endpoint, secret } = await createEndpoint(q, ctx.secret, { url: req.body.url, eventTypes: req.body.eventTypes, deliveryId: req.body.deliveryId, createdBy: req.user?.name ?? 'unknown' });
    return reply.status(201).send({ ...endpoint, secret });
  });

  r.get('/webhooks', {
    config: operator,
    schema: { tags, summary: 'List webhook endpoints (never their secrets; URLs in full for admins only)', response: { 200: webhookListSchema } },
  }, async (req) => ({ webhooks: (await listEndpoints(q)).map((w) => shown(req.user?.role, w)) }));

  r.get('/webhooks/:id', {
    config: operator,
    schema: { tags, summary: 'A webhook endpoint with its recent attempts (its URL in full for admins only)', params: idParams, response: { 200: webhookDetailSchema, 404: errorSchema } },
  }, async (req) => ({ ...shown(req.user?.role, await getEndpoint(q, req.params.id)), attempts: await recentAttempts(q, req.params.id) }));

  r.delete('/webhooks/:id', {
    config: admin,
    schema: { tags, summary: 'Delete a webhook endpoint and its attempts', params: idParams, response: { 204: z.null(), 404: errorSchema } },
  }, async (req, reply) => {
    await deleteEndpoint(q, req.params.id);
    return reply.status(204).send(null);
  });

  r.post('/webhooks/:id/enable', {
    config: admin,
    schema: { tags, summary: 'Enable a webhook endpoint again: tried at once, from where it stopped, with a fresh retry period', params: idParams, response: { 200: webhookEndpointSchema, 404: errorSchema } },
  }, async (req) => enableEndpoint(q, req.params.id));

  r.post('/webhooks/:id/replay', {
    config: admin,
    schema: { tags, summary: 'Send again every event that happened at or after a time, in order', params: idParams, body: webhookReplaySchema, response: { 200: webhookReplayedSchema, 400: errorSchema, 404: errorSchema } },
  }, async (req) => replayEndpoint(q, req.params.id, Date.parse(req.body.from)));

  r.post('/webhooks/:id/test', {
    config: admin,
    schema: { tags, summary: 'Send a signed test event (type "test") now; the answer says what the receiver answered', params: idParams, response: { 200: webhookTestResultSchema, 404: errorSchema } },
  }, async (req) => {
    const result = await sendTestEvent(ctx.db, ctx.secret, req.params.id, parseDuration(ctx.config.webhooks.timeout));
    return { ...result, latencyMs: Math.round(result.latencyMs) };
  });
}
