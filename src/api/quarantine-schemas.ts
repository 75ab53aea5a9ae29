/**
 * Response shapes of the quarantine routes (routes/quarantine.ts) as zod schemas: addresses
 * with their status, counts per status, bulk releases and the outage guard's incidents.
 * Only zod is imported: the dashboard's type check reads this file too.
 */
import { z } from 'zod';

export const quarantineEntrySchema = z.object({
  address: z.string(),
  domain: z.string(),
  status: z.string(),
  statusLabel: z.string(),
  failureType: z.string().nullable(),
  failureReason: z.string().nullable(),
  errorCount: z.number(),
  lastErrorAt: z.string().nullable(),
  errorText: z.string().nullable(),
  deliveryId: z.number().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const quarantineEntryDetailSchema = quarantineEntrySchema.extend({
  history: z.array(z.object({ at: z.string(), actor: z.string().describe('an operator, "recipient" (an unsubscription) or "system"'), action: z.string(), detail: z.string().nullable() })),
});
export const quarantinePageSchema = z.object({ entries: z.array(quarantineEntrySchema), next: z.string().nullable() });

export const quarantineStatsSchema = z.record(z.string(), z.number());

export const bulkReleaseSchema = z.object({ count: z.number(), dryRun: z.boolean() });

export const incidentSchema = z.object({ id: z.number(), domain: z.string(), startedAt: z.string(), holdUntil: z.string(), hardRate: z.number(), baselineRate: z.number(), held: z.number(), suspectedNow: z.number(), resolution: z.string().nullable(), resolvedAt: z.string().nullable(), resolvedBy: z.string().nullable() });
export const incidentListSchema = z.object({ incidents: z.array(incidentSchema) });
export const incidentResolvedSchema = z.object({ changed: z.number() });
