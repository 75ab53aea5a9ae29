/**
 * GET /api/v1/health: liveness plus whether the database answers.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { z } from 'zod';
import type { ApiContext } from '../context.ts';

export async function healthRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().get('/health', {
    config: { access: 'public' },
    schema: {
      tags: ['system'],
      summary: 'Health of this process and its database',
      response: { 200: z.object({ status: z.literal('ok'), version: z.string(), database: z.enum(['sqlite', 'postgres']), roles: z.array(z.string()), time: z.string() }) },
    },
  }, async () => {
    await sql`select 1`.execute(ctx.db.kysely);
    return { status: 'ok' as const, version: ctx.version, database: ctx.db.dialect, roles: ctx.config.roles, time: new Date().toISOString() };
  });
}
