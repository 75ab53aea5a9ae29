/**
 * Response shapes of the HTTP API for deliveries and their logs, as zod schemas: they
 * document the API (OpenAPI) and the serializer drops anything not declared here, so internal
 * fields never leak. Their types, for the dashboard and the CLI, are in contract.ts. Only
 * zod is imported here: the dashboard's type check reads this file too.
 */
import { z } from 'zod';

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

export const deliverySchema = z.object({
  id: z.number(),
  label: z.string(),
  state: z.string().describe('machine name, e.g. in-progress'),
  stateCode: z.number().describe("Campaign's numeric state code where documented (0, 51, 55, 71, 75, 85, 95)"),
  stateLabel: z.string(),
  from: z.object({ name: z.string(), address: z.string() }),
  replyTo: z.string().nullable(),
  subject: z.string(),
  html: z.string().nullable(),
  text: z.string().nullable(),
  headers: z.record(z.string(), z.string()),
  unsubscribeUrl: z.string().nullable(),
  ipPool: z.string().nullable(),
  tracking: z.boolean(),
  trackTextLinks: z.boolean(),
  validitySeconds: z.number(),
  validUntil: z.string().nullable(),
  contentVersion: z.number(),
  analyzedVersion: z.number().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  confirmedAt: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  lastError: z.string().nullable(),
});

export const kpisSchema = z.object({
  targeted: z.number(),
  toDeliver: z.number(),
  excluded: z.number(),
  pending: z.number(),
  takenIntoAccount: z.number().describe('relayed to the MTA, final outcome not known yet'),
  processed: z.number().describe('sent + failed'),
  sent: z.number(),
  failed: z.number(),
  cancelled: z.number(),
  successPercent: z.number().describe('sent / to deliver, starts at 0'),
  failedPercent: z.number(),
  softBouncesPendingRetry: z.number(),
  quarantined: z.number(),
  complaints: z.number(),
  unsubscribes: z.number(),
  failuresByReason: z.record(z.string(), z.number()),
  uniqueOpens: z.number().describe('recipients who opened, by the pixel or by clicking (a click implies an open); people only'),
  opens: z.number().describe('pixel fetches judged a person\'s'),
  machineOpens: z.number().describe('pixel fetches by privacy proxies and scanners (Apple Mail Privacy Protection, prefetches)'),
  uniqueClicks: z.number().describe('recipients who clicked at least once; people only'),
  clicks: z.number().describe('clicks judged a person\'s'),
  machineClicks: z.number().describe('clicks by link scanners (Safe Links and the like)'),
  openRatePercent: z.number().describe('unique opens / sent'),
  clickRatePercent: z.number().describe('unique clicks / sent'),
  clickToOpenPercent: z.number().describe('unique clicks / unique opens (Campaign\'s raw reactivity)'),
  unsubscribePercent: z.number().describe('unsubscriptions / sent'),
  complaintPercent: z.number().describe('complaints / sent'),
});

export const analysisLineSchema = z.object({
  level: z.enum(['info', 'warning', 'error']),
  code: z.string(),
  message: z.string(),
  count: z.number().optional(),
  samples: z.array(z.string()).optional(),
});

export const analysisSchema = z.object({
  contentVersion: z.number(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  counts: z.object({
    targeted: z.number(),
    toDeliver: z.number(),
    excluded: z.number(),
    excludedByReason: z.record(z.string(), z.number()),
    personalizationErrors: z.number(),
  }),
  messageSize: z.object({ max: z.number(), average: z.number() }),
  topDomains: z.array(z.object({ domain: z.string(), count: z.number() })),
  lines: z.array(analysisLineSchema),
  errors: z.number(),
  warnings: z.number(),
});

export const deliveryDetailSchema = deliverySchema.extend({
  recipients: z.number(),
  kpis: kpisSchema,
  analysis: analysisSchema.nullable(),
  analysisProgress: z.object({ done: z.number(), total: z.number() }).nullable(),
});

export const logSchema = z.object({
  id: z.number(),
  deliveryId: z.number(),
  row: z.number(),
  address: z.string(),
  domain: z.string(),
  status: z.string(),
  statusCode: z.number(),
  statusLabel: z.string(),
  failureType: z.string().nullable(),
  failureReason: z.string().nullable(),
  reply: z.string().nullable(),
  attempts: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
  sentAt: z.string().nullable(),
  complainedAt: z.string().nullable(),
  openedAt: z.string().nullable().describe('first open by a person (a click counts as one)'),
  clickedAt: z.string().nullable().describe('first click by a person'),
});

export const eventSchema = z.object({
  id: z.number(),
  type: z.string(),
  occurredAt: z.string(),
  appliedAt: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  note: z.string().nullable().describe('what was judged when it was applied, e.g. "machine: Apple Mail Privacy Protection"'),
});

export const auditSchema = z.object({ id: z.number(), at: z.string(), actor: z.string(), action: z.string(), detail: z.unknown() });

export const deliveryListItemSchema = deliverySchema.extend({ kpis: kpisSchema, analysisErrors: z.number().nullable().describe('errors of the analysis of the current content (they block confirmation), null when it has none') });
export const deliveryListSchema = z.object({ deliveries: z.array(deliveryListItemSchema) });

export const recipientsImportedSchema = z.object({ recipients: z.number(), imported: z.number() });

export const throughputSchema = z.object({
  bucketSeconds: z.number().describe('width of each point: seconds for a short delivery, minutes or hours for a long one'),
  points: z.array(z.object({ minute: z.string().describe('start of the bucket'), sent: z.number(), failed: z.number() })),
  currentPerMinute: z.number().describe('messages that became Sent or Failed per minute lately; 0 once finished'),
  remaining: z.number().describe('to deliver, not yet Sent or Failed'),
  estimatedEndAt: z.string().nullable().describe('when the remaining messages are done at the current rate (the validity period may end it sooner)'),
});

export const domainsSchema = z.object({
  domains: z.array(z.object({ domain: z.string(), recipients: z.number(), sent: z.number(), deferred: z.number().describe('waiting for a retry after a soft error'), failed: z.number(), waiting: z.number().describe('not tried yet, or relayed without an outcome'), failedPercent: z.number().describe('failed / (sent + failed)') })),
});

export const failuresSchema = z.object({
  total: z.number(),
  byReason: z.array(z.object({ failureType: z.string(), failureReason: z.string(), count: z.number(), percentOfFailures: z.number() })),
  byDomain: z.array(z.object({ domain: z.string(), failed: z.number(), processed: z.number(), percentOfProcessed: z.number() })),
});

export const auditTrailSchema = z.object({ entries: z.array(auditSchema) });

/** A row of the logs list: the log, when its next try is, and whether automatic replies came back. */
export const logRowSchema = logSchema.extend({
  nextAttemptAt: z.string().nullable().describe('for a message waiting for a retry: when the MTA tries again'),
  autoReplies: z.number().describe('automatic replies (out of office…) received for this message'),
});
export const logPageSchema = z.object({ logs: z.array(logRowSchema), next: z.number().nullable(), total: z.number().describe('logs that pass the filters, all pages') });

export const logDetailSchema = logSchema.extend({ messageId: z.string().describe('the Message-ID its message carries'), history: z.array(eventSchema) });

export const idParams = z.object({ id: z.coerce.number().int().positive() });

export const linkReportSchema = z.object({
  uniqueClicks: z.number().describe('recipients who clicked at least one link (people)'),
  links: z.array(
    z.object({
      id: z.number(),
      url: z.string().describe('as written in the content; may contain personalization'),
      label: z.string(),
      part: z.enum(['html', 'text']),
      position: z.number(),
      personalized: z.boolean(),
      clicks: z.number(),
      uniqueClicks: z.number(),
      percentOfClickers: z.number().describe('unique clicks on this link / unique clicks on the delivery'),
    }),
  ),
});
