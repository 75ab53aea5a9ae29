/**
 * Request and response shapes of the webhook routes (routes/webhooks.ts) as zod schemas.
 * The secret has a field only in the answer to a creation, so no other answer can carry it.
 * The event types are spelled out rather than imported, so the dashboard's type check can
 * read this file.
 */
import { z } from 'zod';

export const WEBHOOK_EVENT_TYPES = ['delivered', 'deferred', 'bounced', 'expired', 'cancelled', 'bounced-async', 'complained', 'auto-replied', 'unsubscribed', 'opened', 'clicked'] as const;

export const webhookCreateSchema = z.object({
  url: z.string().max(2000).describe('http or https; receives a signed POST per batch of events'),
  eventTypes: z.array(z.enum(WEBHOOK_EVENT_TYPES)).max(20).optional().describe('the event types wanted; absent or empty: every type'),
  deliveryId: z.number().int().positive().optional().describe("only this delivery's events; absent: all traffic"),
});

export const webhookEndpointSchema = z.object({
  id: z.number(),
  url: z.string().describe('in full for admins; for others its origin only, e.g. "https://hooks.example/…" (a path or query often carries a token)'),
  eventTypes: z.array(z.string()).nullable().describe('null: every type'),
  deliveryId: z.number().nullable(),
  enabled: z.boolean(),
  disabledReason: z.string().nullable().describe('why Estafeta disabled it (its receiver failed for the whole retry period)'),
  createdAt: z.string(),
  createdBy: z.string(),
  cursor: z.number().describe('the id of the last event delivered'),
  failures: z.number().describe('failed attempts in a row'),
  failingSince: z.string().nullable(),
  nextAttemptAt: z.string().nullable().describe('when a failing endpoint is tried again'),
  backlog: z.number().describe('events written after the cursor, not delivered yet (before the filters: an upper bound)'),
});

export const webhookAttemptSchema = z.object({
  id: z.number(),
  firstEventId: z.number().nullable(),
  lastEventId: z.number().nullable(),
  events: z.number(),
  attempt: z.number().describe('1 for a first try, 2 for the first retry…; 0 for a test event'),
  statusCode: z.number().nullable().describe('null when no answer came (timeout, refused connection)'),
  latencyMs: z.number(),
  error: z.string().nullable(),
  at: z.string(),
});

export const webhookCreatedSchema = webhookEndpointSchema.extend({
  secret: z.string().describe('the signing secret: in this answer only, store it now'),
});

export const webhookDetailSchema = webhookEndpointSchema.extend({ attempts: z.array(webhookAttemptSchema).describe('the most recent first, up to 50') });
export const webhookListSchema = z.object({ webhooks: z.array(webhookEndpointSchema) });

export const webhookReplaySchema = z.object({ from: z.string().datetime({ offset: true }).describe('ISO time: every event that happened at or after it is sent again, in order') });
export const webhookReplayedSchema = z.object({ endpoint: webhookEndpointSchema, fromEventId: z.number().nullable().describe('the first event sent again; null when none happened since') });

export const webhookTestResultSchema = z.object({ ok: z.boolean(), statusCode: z.number().nullable(), latencyMs: z.number(), error: z.string().nullable() });
