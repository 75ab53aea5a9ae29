/**
 * Health, for people and for load balancers: GET /api/v1/health (the process and its
 * database, with the version), /health/live (the process answers: restart it if not) and
 * /health/ready (send it traffic: the database answers, every migration this version knows
 * was applied, the roles have started and the process is not draining; 503 with the
 * reason otherwise). All three are public: they reveal no data.
 *
 * Not here: what draining does (mta/engine.ts), when the roles start (app/start.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { z } from 'zod';
import { MIGRATION_NAMES } from '../../db/index.ts';
import type { ApiContext } from '../context.ts';

const readySchema = z.object({ ready: z.boolean(), reason: z.string().nullable(), roles: z.array(z.string()), draining: z.boolean() });

export async function healthRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/health', {
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

  r.get('/health/live', {
    config: { access: 'public' },
    schema: { tags: ['system'], summary: 'Liveness: the process answers (it touches no database, so a slow database does not get it restarted)', response: { 200: z.object({ live: z.literal(true) }) } },
  }, async () => ({ live: true as const }));

  r.get('/health/ready', {
    config: { access: 'public' },
    schema: { tags: ['system'], summary: 'Readiness: database answers, migrations applied, roles started, not draining; 503 with the reason otherwise', response: { 200: readySchema, 503: readySchema } },
  }, async (_req, reply) => {
    const reason = await notReady(ctx);
    const draining = ctx.lifecycle?.draining() ?? false;
    return reply.status(reason ? 503 : 200).send({ ready: reason === null, reason, roles: ctx.config.roles, draining });
  });
}

/** Why this process should get no traffic now, or null. */
async function notReady(ctx: ApiContext): Promise<string | null> {
  const lifecycle = ctx.lifecycle?.notReady() ?? null;
  if (lifecycle) return lifecycle;
  let applied: Set<string>;
  try {
    // Kysely's bookkeeping table, in the same schema as ours (db/migrate.ts).
    const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(ctx.db.kysely);
    applied = new Set(rows.rows.map((x) => x.name));
  } catch (err) {
    return `the database does not answer: ${(err as Error).message}`;
  }
  const missing = MIGRATION_NAMES.filter((n) => !applied.has(n));
  return missing.length ? `database migrations not applied: ${missing.join(', ')}` : null;
}
