/**
 * Response shapes of the bounce routes (routes/bounces.ts) as zod schemas: the qualification
 * table of failure texts and the mail the bounce listener received. Only zod is imported:
 * the dashboard's type check reads this file too.
 */
import { z } from 'zod';

export const qualificationSchema = z.object({
  key: z.string(),
  firstText: z.string(),
  occurrences: z.number(),
  source: z.string(),
  category: z.string(),
  failureType: z.string().nullable(),
  failureReason: z.string().nullable(),
  ruleId: z.string().nullable(),
  status: z.string(),
  qualifiedBy: z.string().nullable(),
  firstSeen: z.string(),
  lastSeen: z.string(),
});
export const qualificationListSchema = z.object({ entries: z.array(qualificationSchema) });

export const inboundMailSchema = z.object({
  id: z.number(),
  receivedAt: z.string(),
  from: z.string(),
  to: z.string(),
  size: z.number(),
  status: z.string(),
  kind: z.string().nullable(),
  logId: z.number().nullable(),
  detail: z.unknown(),
});
export const inboundMailListSchema = z.object({ mails: z.array(inboundMailSchema) });

/** One received mail, parsed for reading: its headers and its text parts, never its HTML as HTML. */
export const inboundMailDetailSchema = inboundMailSchema.omit({ detail: true }).extend({
  subject: z.string(),
  headers: z.array(z.object({ name: z.string(), value: z.string() })).describe('top-level headers in order (at most 200)'),
  parts: z.array(z.object({ type: z.string().describe('MIME type, e.g. text/plain, message/delivery-status'), text: z.string(), truncated: z.boolean() })).describe('text parts, report parts and returned headers as plain text; HTML is turned into text'),
});
