/**
 * Administration of who may use Estafeta: users (admin, operator, viewer) and API keys for
 * scripts. Admins only. Password hashes never leave the server; an API key is returned
 * once, in the answer to its creation.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createApiKey, createUser, deleteApiKey, deleteUser, listApiKeys, listUsers, updateUser } from '../../auth/index.ts';
import type { ApiContext } from '../context.ts';
import { errorSchema, idParams } from '../schemas.ts';
import { apiKeyCreatedSchema, apiKeyListSchema, roleSchema as role, userAccountSchema as userSchema, userListSchema } from '../access-schemas.ts';

export async function userRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const admin = { access: 'admin' as const };
  const q = ctx.db.kysely;

  r.get('/users', {
    config: admin,
    schema: { tags: ['users'], summary: 'List users', response: { 200: userListSchema } },
  }, async () => ({ users: await listUsers(q) }));

  r.post('/users', {
    config: admin,
    schema: {
      tags: ['users'],
      summary: 'Create a user',
      body: z.object({ name: z.string(), password: z.string().max(1024), role }),
      response: { 201: userSchema, 400: errorSchema, 409: errorSchema },
    },
  }, async (req, reply) => reply.status(201).send(await createUser(q, req.body)));

  r.patch('/users/:id', {
    config: admin,
    schema: {
      tags: ['users'],
      summary: "Change a user's role or set a new password",
      params: idParams,
      body: z.object({ role: role.optional(), password: z.string().max(1024).optional() }),
      response: { 200: userSchema, 400: errorSchema, 404: errorSchema, 409: errorSchema },
    },
  }, async (req) => updateUser(q, req.params.id, req.body));

  r.delete('/users/:id', {
    config: admin,
    schema: { tags: ['users'], summary: 'Delete a user (not the last admin)', params: idParams, response: { 204: z.null(), 404: errorSchema, 409: errorSchema } },
  }, async (req, reply) => {
    await deleteUser(q, req.params.id);
    return reply.status(204).send(null);
  });

  r.get('/api-keys', {
    config: admin,
    schema: { tags: ['users'], summary: 'List API keys (never the keys themselves)', response: { 200: apiKeyListSchema } },
  }, async () => ({ apiKeys: await listApiKeys(q) }));

  r.post('/api-keys', {
    config: admin,
    schema: {
      tags: ['users'],
      summary: 'Create an API key: the key is in this answer only, store it now',
      body: z.object({ name: z.string(), role, streams: z.array(z.union([z.string().min(1), z.number().int().positive()])).max(100).optional().describe('limit the key to these streams (ids or names): it may then send to them and read their messages, nothing else') }),
      response: { 201: apiKeyCreatedSchema, 400: errorSchema, 409: errorSchema },
    },
  }, async (req, reply) => reply.status(201).send(await createApiKey(q, { ...req.body, createdBy: req.user!.name })));

  r.delete('/api-keys/:id', {
    config: admin,
    schema: { tags: ['users'], summary: 'Revoke an API key', params: idParams, response: { 204: z.null(), 404: errorSchema } },
  }, async (req, reply) => {
    await deleteApiKey(q, req.params.id);
    return reply.status(204).send(null);
  });
}
