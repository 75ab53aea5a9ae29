/**
 * DKIM keys: list them with the DNS records to publish, create one (generated, or an
 * imported PEM private key), activate or deactivate it for a rotation, delete it. Private
 * keys never appear in an answer: the response schemas have no field for them. Reading is
 * open to viewers; changing keys, which decides whose mail the MTA vouches for, is for admins.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createDkimKey, deleteDkimKey, getDkimKey, listDkimKeys, setDkimKeyActive, DKIM_ALGORITHMS, type DkimAlgorithm } from '../../dkim/index.ts';
import type { ApiContext } from '../context.ts';
import { errorSchema, idParams } from '../schemas.ts';
import { dkimKeyListSchema, dkimKeySchema as keySchema } from '../dkim-schemas.ts';

export async function dkimRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['dkim'];
  const admin = { access: 'admin' as const };

  r.get('/dkim/keys', {
    schema: { tags, summary: 'DKIM keys with their public keys and DNS records', querystring: z.object({ domain: z.string().optional() }), response: { 200: dkimKeyListSchema, 400: errorSchema } },
  }, async (req) => ({ keys: await listDkimKeys(ctx.db.kysely, { domain: req.query.domain }) }));

  r.get('/dkim/keys/:id', {
    schema: { tags, summary: 'One DKIM key', params: idParams, response: { 200: keySchema, 404: errorSchema } },
  }, async (req) => getDkimKey(ctx.db.kysely, req.params.id));

  r.post('/dkim/keys', {
    config: admin,
    schema: {
      tags,
      summary: 'Create a DKIM key for a sender domain: generated (RSA-2048 or Ed25519), or imported from a PEM private key. It signs from the next batch on; publish its DNS record first.',
      body: z.object({
        domain: z.string().min(1).max(253),
        selector: z.string().min(1).max(253),
        algorithm: z.enum(DKIM_ALGORITHMS as [DkimAlgorithm, ...DkimAlgorithm[]]).optional().describe('default rsa-sha256, or the imported key\'s own'),
        privateKey: z.string().max(20000).optional().describe('PEM (PKCS#8 or PKCS#1) private key to import instead of generating one'),
      }),
      response: { 201: keySchema, 400: errorSchema, 409: errorSchema },
    },
  }, async (req, reply) => reply.status(201).send(await createDkimKey(ctx.db, req.body, ctx.secret)));

  for (const [action, active] of [['activate', true], ['deactivate', false]] as const) {
    r.post(`/dkim/keys/:id/${action}`, {
      config: admin,
      schema: { tags, summary: active ? 'Sign with this key again' : 'Stop signing with this key (keep it, and its DNS record, until mail signed with it has been delivered)', params: idParams, response: { 200: keySchema, 404: errorSchema } },
    }, async (req) => setDkimKeyActive(ctx.db, req.params.id, active));
  }

  r.delete('/dkim/keys/:id', {
    config: admin,
    schema: { tags, summary: 'Delete a DKIM key for good', params: idParams, response: { 204: z.null(), 404: errorSchema } },
  }, async (req, reply) => {
    await deleteDkimKey(ctx.db, req.params.id);
    return reply.status(204).send(null);
  });
}
