/** Request and response shapes of the streams and send API routes (routes/streams.ts). */
import { z } from 'zod';

export const streamCreateSchema = z.object({
  name: z.string().min(1).max(200),
  fromDomains: z.array(z.string().max(253)).min(1).max(100).describe('domains a From address may use'),
  ipPool: z.string().max(100).nullable().optional().describe('the sending IP pool; the default pool when absent'),
  validity: z.union([z.string(), z.number()]).optional().describe('how long the MTA tries a message, e.g. "2d"'),
  tracking: z.boolean().optional().describe('an open pixel in HTML messages (default true)'),
  applyQuarantine: z.boolean().optional().describe('refuse quarantined and denylisted recipients (default true)'),
  listUnsubscribe: z.boolean().optional().describe('messages carry List-Unsubscribe (default false)'),
});

export const streamSchema = z.object({
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
export const streamListSchema = z.object({ streams: z.array(streamSchema) });

const recipientResultSchema = z.object({
  address: z.string(),
  logId: z.number(),
  messageId: z.string().nullable(),
  status: z.enum(['accepted', 'refused']),
  reason: z.string().optional(),
});

export const messageSentSchema = z.object({
  stream: z.number(),
  messageIds: z.array(z.string()).describe('one per accepted recipient: each recipient gets its own message'),
  logIds: z.array(z.number()).describe('one delivery log per recipient'),
  recipients: z.array(recipientResultSchema),
});

export const batchResultSchema = z.object({
  results: z.array(z.union([
    messageSentSchema.extend({ ok: z.literal(true) }),
    z.object({ ok: z.literal(false), error: z.object({ code: z.string().describe('INVALID_INPUT, MISSING_FIELDS, FORBIDDEN, NOT_FOUND, ILLEGAL_STATE'), message: z.string(), missing: z.array(z.string()).optional().describe("MISSING_FIELDS: the template's fields the data lacks") }) }),
  ])),
  accepted: z.number().describe('messages sent'),
  failed: z.number().describe('messages refused, each with its error'),
});

export const streamWindowSchema = z.object({
  from: z.string(),
  to: z.string(),
  sent: z.number(),
  failed: z.number(),
  failedPercent: z.number(),
  minutes: z.array(z.object({ minute: z.string(), sent: z.number(), failed: z.number() })),
});

/** 422: a template's fields the message's data lacks. */
export const missingFieldsSchema = z.object({
  error: z.object({ code: z.literal('MISSING_FIELDS'), message: z.string(), details: z.object({ missing: z.array(z.string()).describe('dotted field paths, e.g. user.firstName') }) }),
});

export const templateInputSchema = z.object({
  name: z.string().min(1).max(200).describe('letters, digits, dots, dashes, underscores or @; messages name the template by it (or by its id)'),
  subject: z.string().max(998).describe('with personalization, e.g. "Reset your password, {{ firstName }}"'),
  html: z.string().nullable().optional().describe('liquid syntax, as a delivery\'s content: {{ field }}, {{ field | default: "x" }}, {% if field %}...{% endif %}; printed values are HTML-escaped'),
  text: z.string().nullable().optional(),
});

export const templateSchema = z.object({
  id: z.number(),
  name: z.string(),
  subject: z.string(),
  html: z.string().nullable(),
  text: z.string().nullable(),
  version: z.number().describe('raised by every change'),
  requiredFields: z.array(z.string()).describe("fields a message's data must have: printed without a default filter, outside a condition"),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const templateListSchema = z.object({ templates: z.array(templateSchema) });
