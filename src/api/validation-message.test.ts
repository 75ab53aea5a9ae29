import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyError } from 'fastify';
import { z } from 'zod';
import { hasZodFastifySchemaValidationErrors, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { validationInWords } from './validation-message.ts';

/** A real fastify with the zod validator, answering what the API's error handler answers. */
async function refusal(inject: { method: 'POST' | 'GET'; url: string; payload?: Record<string, unknown> }): Promise<string> {
  const app = Fastify().withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    assert.ok(hasZodFastifySchemaValidationErrors(err));
    return reply.status(400).send({ message: validationInWords(err.validationContext, err.validation) });
  });
  const body = z.object({
    subject: z.string().min(1),
    from: z.object({ address: z.email() }),
    validity: z.number().int().max(30),
    kind: z.enum(['bulk', 'transactional']),
    tags: z.array(z.string()).min(1),
    label: z.string().refine((s) => !s.includes('\n'), 'a label is one line'),
  }).strict();
  app.post('/d', { schema: { body } }, async () => ({}));
  app.get('/d/:id', { schema: { params: z.object({ id: z.coerce.number().int().positive() }), querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }) } }, async () => ({}));
  const res = await app.inject(inject);
  await app.close();
  assert.equal(res.statusCode, 400, res.body);
  return JSON.parse(res.body).message;
}

test('a missing field is "required", in its own name, without zod\'s wording', async () => {
  const m = await refusal({ method: 'POST', url: '/d', payload: { from: { address: 'news@shop.test' }, validity: 1, kind: 'bulk', tags: ['a'], label: 'x' } });
  assert.equal(m, 'subject is required');
});

test('each kind of problem in words', async () => {
  const m = await refusal({ method: 'POST', url: '/d', payload: { subject: '', from: { address: 'nope' }, validity: 31, kind: 'other', tags: [], label: 'a\nb', extra: 1 } });
  for (const words of ['subject must not be empty', 'from.address must be an email address', 'validity must be at most 30', 'kind must be one of: bulk, transactional', 'tags must not be empty', 'label: a label is one line', 'the body has a field Estafeta does not know: extra']) assert.ok(m.includes(words), `"${words}" in: ${m}`);
  assert.ok(!/Invalid input|Too small|Too big|expected|received/.test(m), m);
});

test('the parts of the URL are named as such', async () => {
  assert.equal(await refusal({ method: 'GET', url: '/d/abc' }), 'the id in the URL must be a number');
  assert.equal(await refusal({ method: 'GET', url: '/d/1?limit=5000' }), 'the query parameter limit must be at most 1,000');
});
