/**
 * The quarantine: list and filter addresses (and export them as CSV, streamed), release one, release in bulk by domain and time
 * window (dry run first, to show how many), add known-bad addresses, and the outage guard's
 * incidents with their resolution.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { addToQuarantine, getQuarantineEntry, listIncidents, listQuarantine, quarantineStats, quarantineAuditOf, quarantineStatusFromName, releaseAddress, releaseBulk, resolveIncident, type QuarantineStatus } from '../../quarantine/index.ts';
import { FAILURE_REASONS, isFailureReason, type FailureReason } from '../../mail/failure.ts';
import { invalidInput } from '../../lib/errors.ts';
import type { ApiContext } from '../context.ts';
import { csvLine } from '../csv.ts';
import { errorSchema, idParams } from '../schemas.ts';
import { actor } from './deliveries.ts';
import { bulkReleaseSchema, incidentListSchema, incidentResolvedSchema, quarantineEntrySchema as entrySchema, quarantineEntryDetailSchema as entryDetailSchema, quarantinePageSchema, quarantineStatsSchema } from '../quarantine-schemas.ts';

const when = z.union([z.string().datetime({ offset: true }), z.coerce.number()]).transform((v) => (typeof v === 'number' ? v : Date.parse(v)));
const list = (v?: string) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
const statusesOf = (v?: string): QuarantineStatus[] =>
  list(v).map((s) => quarantineStatusFromName(s) ?? (() => { throw invalidInput(`status: unknown value "${s}"; expected with-errors, valid, quarantine, denylisted, suspected`); })());
const reasonsOf = (v?: string): FailureReason[] => list(v).map((s) => (isFailureReason(s) ? s : (() => { throw invalidInput(`reason: unknown failure reason "${s}"`); })()));

export async function quarantineRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['quarantine'];

  const filterQuery = z.object({
    status: z.string().optional().describe('comma-separated: with-errors, valid, quarantine, denylisted, suspected'),
    domain: z.string().optional(),
    reason: z.string().optional().describe('comma-separated failure reasons'),
    from: when.optional().describe('last change at or after (ISO 8601 or epoch ms)'),
    to: when.optional(),
    q: z.string().optional().describe('part of the address'),
    order: z.enum(['address', 'recent']).default('address').describe('address: A to Z; recent: newest error first'),
  });
  const filterOf = (qs: z.infer<typeof filterQuery>) => ({ statuses: statusesOf(qs.status), domain: qs.domain, reasons: reasonsOf(qs.reason), from: qs.from, to: qs.to, search: qs.q, order: qs.order });

  r.get('/quarantine', {
    schema: {
      tags,
      summary: 'Addresses in the quarantine table',
      querystring: filterQuery.extend({
        after: z.string().optional().describe('the next of the previous page'),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      response: { 200: quarantinePageSchema, 400: errorSchema },
    },
  }, async (req) => listQuarantine(ctx.db.kysely, { ...filterOf(req.query), after: req.query.after, limit: req.query.limit }));

  r.get('/quarantine.csv', {
    schema: { tags, summary: 'The quarantine as CSV, with the same filters as the list, streamed (any size)', querystring: filterQuery, response: { 400: errorSchema } },
  }, async (req, reply) => {
    const filter = filterOf(req.query);
    const db = ctx.db.kysely;
    async function* rows(): AsyncGenerator<string> {
      yield csvLine(['address', 'domain', 'status', 'failure type', 'failure reason', 'errors', 'last error at', 'error text', 'delivery', 'updated at']);
      for (let after: string | undefined; ; ) {
        const page = await listQuarantine(db, { ...filter, after, limit: 1000 });
        for (const q of page.entries) yield csvLine([q.address, q.domain, q.statusLabel, q.failureType ?? '', q.failureReason ?? '', q.errorCount, q.lastErrorAt ?? '', q.errorText ?? '', q.deliveryId ?? '', q.updatedAt]);
        if (page.next === null) return;
        after = page.next;
      }
    }
    return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="quarantine.csv"').send(Readable.from(rows()) as never);
  });

  r.get('/quarantine/stats', {
    schema: { tags, summary: 'How many addresses per quarantine status', response: { 200: quarantineStatsSchema } },
  }, async () => quarantineStats(ctx.db.kysely));

  r.get('/quarantine/entry', {
    schema: { tags, summary: 'One address, with its audit trail (who changed its status, and why)', querystring: z.object({ address: z.string() }), response: { 200: entryDetailSchema, 404: errorSchema } },
  }, async (req) => ({ ...(await getQuarantineEntry(ctx.db.kysely, req.query.address)), history: await quarantineAuditOf(ctx.db.kysely, req.query.address) }));

  r.post('/quarantine', {
    schema: {
      tags,
      summary: 'Add a known-bad address (quarantine or denylist)',
      body: z.object({ address: z.string(), status: z.enum(['quarantine', 'denylisted']).default('quarantine'), reason: z.enum(FAILURE_REASONS as [FailureReason, ...FailureReason[]]).default('User unknown'), text: z.string().max(1000).optional() }),
      response: { 200: entrySchema, 400: errorSchema },
    },
  }, async (req) => addToQuarantine(ctx.db.kysely, req.body.address, req.body.status, req.body.reason, req.body.text ?? `added by ${actor(req)}`, actor(req)));

  r.post('/quarantine/release', {
    schema: { tags, summary: 'Set one address back to Valid', body: z.object({ address: z.string() }), response: { 200: entrySchema, 404: errorSchema } },
  }, async (req) => releaseAddress(ctx.db.kysely, req.body.address, actor(req)));

  r.post('/quarantine/release-bulk', {
    schema: {
      tags,
      summary: "Release a domain's quarantined addresses changed within a time window (after a provider outage). dryRun only counts.",
      body: z.object({ domain: z.string().min(1), from: when, to: when, statuses: z.array(z.string()).optional(), reasons: z.array(z.string()).optional(), dryRun: z.boolean().default(false) }),
      response: { 200: bulkReleaseSchema, 400: errorSchema },
    },
  }, async (req) => {
    const b = req.body;
    const count = await releaseBulk(ctx.db.kysely, { domain: b.domain, from: b.from, to: b.to, statuses: statusesOf(b.statuses?.join(',')), reasons: reasonsOf(b.reasons?.join(',')), dryRun: b.dryRun }, actor(req));
    return { count, dryRun: b.dryRun };
  });

  r.get('/quarantine/incidents', {
    schema: {
      tags,
      summary: "The outage guard's incidents: domains whose new quarantines were held as suspected",
      response: { 200: incidentListSchema },
    },
  }, async () => ({ incidents: await listIncidents(ctx.db.kysely) }));

  r.post('/quarantine/incidents/:id/:resolution', {
    schema: {
      tags,
      summary: 'Resolve an incident: confirm (quarantine the held addresses) or release (set them Valid)',
      params: idParams.extend({ resolution: z.enum(['confirm', 'release']) }),
      response: { 200: incidentResolvedSchema, 404: errorSchema, 409: errorSchema },
    },
  }, async (req) => ({ changed: await resolveIncident(ctx.db.kysely, req.params.id, req.params.resolution, actor(req)) }));
}
