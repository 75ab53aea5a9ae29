/**
 * SMTP credentials of a message stream, for SMTP submission: create one (its password is in
 * that answer only, stored hashed), list them (never a password), revoke one. All three
 * need admin: a credential sends mail as the stream's domains, as an API key would.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getStreamRow } from '../../deliveries/index.ts';
import { createSmtpCredential, listSmtpCredentials, revokeSmtpCredential } from '../../submission/index.ts';
import type { ApiContext } from '../context.ts';
import { errorSchema, idParams } from '../schemas.ts';

const credentialSchema = z.object({
  id: z.number(),
  streamId: z.number(),
  username: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});
const createdSchema = credentialSchema.extend({
  password: z.string().describe('shown in this answer only'),
});

export async function smtpCredentialRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const admin = { access: 'admin' as const };
  const tags = ['streams'];
  const q = ctx.db.kysely;

  r.post('/streams/:id/smtp-credentials', {
    config: admin,
    schema: { tags, summary: 'Create SMTP credentials for the stream (SMTP submission): the password is in this answer only', params: idParams, response: { 201: createdSchema, 404: errorSchema } },
  }, async (req, reply) => {
    const stream = await getStreamRow(q, req.params.id);
    const made = await createSmtpCredential(q, Number(stream.id), req.user?.name ?? 'unknown');
    return reply.status(201).send(made);
  });

  r.get('/streams/:id/smtp-credentials', {
    config: admin,
    schema: { tags, summary: "List the stream's SMTP credentials (never their passwords)", params: idParams, response: { 200: z.object({ credentials: z.array(credentialSchema) }), 404: errorSchema } },
  }, async (req) => {
    await getStreamRow(q, req.params.id);
    return { credentials: await listSmtpCredentials(q, req.params.id) };
  });

  r.delete('/streams/:id/smtp-credentials/:credentialId', {
    config: admin,
    schema: { tags, summary: 'Revoke SMTP credentials: a session already authenticated with them is refused at its next message', params: idParams.extend({ credentialId: z.coerce.number().int().positive() }), response: { 204: z.null(), 404: errorSchema } },
  }, async (req, reply) => {
    await revokeSmtpCredential(q, req.params.id, req.params.credentialId);
    return reply.status(204).send(null);
  });
}
