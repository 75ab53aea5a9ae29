/**
 * The delivery engine: ready queues per (sending IP, MX site) with their limits, what waits
 * in the spool and why (throttled, suspended, retry, warm-up cap), the adaptations in force
 * with why, since and until when (cancellable), sending IPs with their warm-up progress, and
 * the MX rules in force; and the drain that takes this process's MTA out of service.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { addOperatorAdaptation, cancelAdaptation, countLiveMtaProcesses, Hold, listAdaptations, spoolStats } from '../../mta/index.ts';
import { warmupCap } from '../../config/sending-ips.ts';
import { EstafetaError, notFound } from '../../lib/errors.ts';
import { parseDuration } from '../../lib/duration.ts';
import type { ApiContext } from '../context.ts';
import { errorSchema, idParams } from '../schemas.ts';
import { actor } from './deliveries.ts';
import { drainReportSchema, adaptationCancelledSchema, adaptationCreatedSchema, adaptationListSchema, mtaQueuesSchema, mxRulesSchema, sendingIpsSchema, spooledMessagesSchema } from '../mta-schemas.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export async function mtaRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['delivery engine'];

  r.get('/mta/queues', {
    schema: {
      tags,
      summary: "This process's ready queues per (MX site, sending IP) with their limits, and the spool totals",
      response: { 200: mtaQueuesSchema },
    },
  }, async () => {
    const spool = await spoolStats(ctx.db.kysely);
    const stats = ctx.mta?.engine?.stats();
    return {
      running: Boolean(stats),
      mtaProcesses: await countLiveMtaProcesses(ctx.db.kysely),
      inFlight: stats?.inFlight ?? 0,
      spool: { ...spool, oldestCreatedAt: iso(spool.oldestCreatedAt) },
      queues: (stats?.queues ?? []).map((q) => ({ ...q, suspendedUntil: iso(q.suspendedUntil) })),
      totals: { delivered: stats?.delivered ?? 0, deferred: stats?.deferred ?? 0, bounced: stats?.bounced ?? 0, expired: stats?.expired ?? 0 },
    };
  });

  r.get('/mta/messages', {
    schema: {
      tags,
      summary: 'Messages in the spool, soonest first, with why each is waiting',
      querystring: z.object({ domain: z.string().optional(), delivery: z.coerce.number().int().optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      response: { 200: spooledMessagesSchema },
    },
  }, async (req) => {
    let q = ctx.db.kysely.selectFrom('mta_spool').select(['id', 'delivery_id', 'log_id', 'rcpt_to', 'domain', 'attempts', 'next_attempt_at', 'expires_at', 'held', 'lease_owner', 'last_reply', 'wait_reason']).orderBy('next_attempt_at').limit(req.query.limit);
    if (req.query.domain) q = q.where('domain', '=', req.query.domain.toLowerCase());
    if (req.query.delivery) q = q.where('delivery_id', '=', req.query.delivery);
    const now = Date.now();
    return {
      messages: (await q.execute()).map((m) => ({
        id: Number(m.id),
        deliveryId: m.delivery_id === null ? null : Number(m.delivery_id),
        logId: m.log_id === null ? null : Number(m.log_id),
        rcptTo: m.rcpt_to,
        domain: m.domain,
        attempts: m.attempts,
        nextAttemptAt: new Date(Number(m.next_attempt_at)).toISOString(),
        expiresAt: new Date(Number(m.expires_at)).toISOString(),
        state: m.held === Hold.Paused ? 'paused' : m.held === Hold.Stopped ? 'stopped' : m.lease_owner && Number(m.next_attempt_at) > now ? 'sending' : Number(m.next_attempt_at) <= now ? 'due' : 'waiting',
        lastReply: m.last_reply,
        waitReason: m.wait_reason,
      })),
    };
  });

  r.get('/mta/adaptations', {
    schema: { tags, summary: 'Adaptations in force (suspensions, throttles), or all recent ones with ?all=true', querystring: z.object({ all: z.enum(['true', 'false']).default('false') }), response: { 200: adaptationListSchema } },
  }, async (req) => ({
    adaptations: (await listAdaptations(ctx.db.kysely, { includeEnded: req.query.all === 'true' })).map((a) => ({
      id: a.id,
      site: a.site,
      source: a.source,
      rule: a.rule,
      action: a.action,
      factor: a.factor,
      reason: a.reason,
      since: iso(a.startedAt)!,
      until: iso(a.until)!,
      recoveredBy: iso(a.until + a.recoveryMs)!,
      cancelledAt: iso(a.cancelledAt),
      cancelledBy: a.cancelledBy,
    })),
  }));

  r.post('/mta/adaptations', {
    schema: {
      tags,
      summary: 'Suspend or throttle a site (or one sending IP towards it) by hand',
      body: z.object({ site: z.string().min(1), source: z.string().nullable().default(null), action: z.enum(['suspend', 'throttle']), factor: z.number().gt(0).lt(1).optional(), duration: z.union([z.string(), z.number()]), reason: z.string().max(500).optional() }),
      response: { 200: adaptationCreatedSchema, 400: errorSchema },
    },
  }, async (req) => {
    const b = req.body;
    const id = await addOperatorAdaptation(ctx.db.kysely, { site: b.site, source: b.source, action: b.action, factor: b.factor ?? 0.5, reason: b.reason ?? `set by ${actor(req)}`, durationMs: parseDuration(b.duration) });
    return { id };
  });

  r.delete('/mta/adaptations/:id', {
    schema: { tags, summary: 'Cancel an adaptation: the site gets its normal limits back', params: idParams, response: { 200: adaptationCancelledSchema, 404: errorSchema } },
  }, async (req) => {
    if (!(await cancelAdaptation(ctx.db.kysely, req.params.id, actor(req)))) throw notFound(`adaptation ${req.params.id} in force`);
    return { cancelled: true as const };
  });

  r.get('/mta/ips', {
    schema: {
      tags,
      summary: 'Sending IP pools and warm-up progress per provider today',
      response: { 200: sendingIpsSchema },
    },
  }, async () => {
    if (!ctx.mta) return { pools: [] };
    const day = Math.floor(Date.now() / 86_400_000);
    const usage = await ctx.db.kysely.selectFrom('mta_ip_usage').select(['ip', 'provider', 'sent']).where('day', '=', day).execute();
    return {
      pools: [...ctx.mta.sendingIps().pools].map(([name, ips]) => ({
        name,
        ips: ips.map((ip) => ({
          address: ip.address,
          helo: ip.helo,
          weight: ip.weight,
          warmup: ip.warmup ? { plan: ip.warmup.plan, day: day - ip.warmup.startDay + 1, capPerProvider: warmupCap(ip) } : null,
          sentToday: Object.fromEntries(usage.filter((u) => u.ip === (ip.address ?? 'default')).map((u) => [u.provider, u.sent])),
        })),
      })),
    };
  });

  r.get('/mta/rules', {
    schema: {
      tags,
      summary: 'The MX rules in force, in matching order',
      response: { 200: mxRulesSchema },
    },
  }, async () => {
    const rules = ctx.mta?.mxRules();
    return { files: rules?.files ?? [], rules: (rules?.rules ?? []).map((x) => ({ name: x.name, mx: x.source, maxConnections: x.maxConnections, maxMessagesPerConnection: x.maxMessagesPerConnection, messagesPerHour: x.messagesPerHour, messagesPerMinute: x.messagesPerMinute, tls: x.tls, shared: x.shared, maxReady: x.maxReady })) };
  });

  r.post('/mta/drain', {
    schema: {
      tags,
      summary: "Drain this process's MTA: it claims nothing more, hands back what it has not started, finishes its open SMTP transactions within the timeout (mta.drainTimeout unless given) and leaves; the other MTA nodes take over. Answers when done",
      body: z.object({ timeout: z.union([z.string(), z.number()]).optional() }).default({}),
      response: { 200: drainReportSchema, 400: errorSchema, 409: errorSchema },
    },
  }, async (req) => {
    const engine = ctx.mta?.engine;
    if (!engine) throw new EstafetaError('ILLEGAL_STATE', 'this process runs no MTA role: drain the MTA node itself (its API, or SIGTERM)');
    const timeoutMs = req.body.timeout === undefined ? undefined : parseDuration(req.body.timeout);
    req.log.info({ by: actor(req) }, 'MTA drain requested');
    const report = await engine.drain(timeoutMs);
    return { ...report, mtaProcesses: await countLiveMtaProcesses(ctx.db.kysely) };
  });
}
