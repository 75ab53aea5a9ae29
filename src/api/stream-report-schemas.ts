/**
 * Shapes of a stream's figures over a time window (routes/stream-reports.ts): the streams
 * list with each stream's last hours, and one stream's KPIs, throughput and failures in a
 * window. A stream never finishes, so its figures are always "over the last …", not totals.
 * Imports nothing but zod, so the dashboard's type check can read it.
 */
import { z } from 'zod';

// A stream as the streams list shows it: stream-schemas.ts's streamSchema, spelled out here
// because a schema file the contract names imports nothing but zod (contract.test.ts).
const streamRowSchema = z.object({
  id: z.number(),
  name: z.string(),
  state: z.string(),
  stateLabel: z.string(),
  fromDomains: z.array(z.string()),
  ipPool: z.string().nullable(),
  validitySeconds: z.number(),
  tracking: z.boolean(),
  applyQuarantine: z.boolean(),
  listUnsubscribe: z.boolean(),
  createdAt: z.string(),
});

export const streamWindowQuery = z.object({ since: z.string().default('24h').describe('how far back: 1h, 24h, 7d (at most 90 days)') });

export const windowKpisSchema = z.object({
  messages: z.number().describe('delivery logs written in the window: one per recipient of each message'),
  waiting: z.number().describe('of those, Pending or Taken into account: no outcome yet'),
  sent: z.number(),
  failed: z.number(),
  cancelled: z.number(),
  ignored: z.number().describe('refused at sending (quarantine, denylist)'),
  deliveredPercent: z.number().describe('sent / messages'),
  bouncedPercent: z.number().describe('failed / messages'),
  hardBounces: z.number(),
  softBounces: z.number().describe('failed with a Soft type (after their retries)'),
  complaints: z.number(),
  opened: z.number().describe('recipients who opened (people, not machines)'),
  clicked: z.number(),
  lastMessageAt: z.string().nullable().describe('the newest message of the stream, whatever the window'),
});

export const streamSummarySchema = z.object({
  from: z.string(),
  to: z.string(),
  streams: z.array(streamRowSchema.extend({ window: windowKpisSchema })),
});

export const streamReportSchema = z.object({
  from: z.string(),
  to: z.string(),
  kpis: windowKpisSchema,
  throughput: z.object({
    bucketSeconds: z.number(),
    points: z.array(z.object({ minute: z.string().describe('start of the bucket'), sent: z.number(), failed: z.number() })).describe('messages that became Sent or Failed in each bucket, every bucket of the window'),
  }),
  failures: z.object({ total: z.number(), byReason: z.array(z.object({ failureType: z.string(), failureReason: z.string(), count: z.number(), percentOfFailures: z.number() })) }),
});

export const streamUpdateSchema = z.object({
  name: z.string().min(1).max(200).optional(),
  fromDomains: z.array(z.string().max(253)).min(1).max(100).optional(),
  ipPool: z.string().max(100).nullable().optional().describe('null: the default pool'),
  validity: z.union([z.string(), z.number()]).optional(),
  tracking: z.boolean().optional(),
  applyQuarantine: z.boolean().optional(),
  listUnsubscribe: z.boolean().optional(),
}).describe('the settings to change; messages sent from now on follow them');
