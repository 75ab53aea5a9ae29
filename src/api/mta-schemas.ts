/**
 * Response shapes of the delivery engine routes (routes/mta.ts) as zod schemas: ready
 * queues, spooled messages and why they wait, adaptations, sending IPs with their warm-up,
 * and the MX rules. Only zod is imported: the dashboard's type check reads this file too.
 */
import { z } from 'zod';

export const mtaQueuesSchema = z.object({
  running: z.boolean(),
  mtaProcesses: z.number().describe('MTA processes alive on this database (recent heartbeat); each takes a part of every MX rule that follows what it holds for the site'),
  inFlight: z.number(),
  spool: z.object({ total: z.number(), due: z.number(), leased: z.number(), held: z.number(), oldestCreatedAt: z.string().nullable() }),
  queues: z.array(z.object({ site: z.string(), source: z.string().nullable(), rule: z.string(), queued: z.number(), connections: z.number(), suspendedUntil: z.string().nullable(), factor: z.number(), messagesPerMinute: z.number().nullable(), messagesPerHour: z.number().nullable(), maxConnectionsPerPath: z.number() })),
  totals: z.object({ delivered: z.number(), deferred: z.number(), bounced: z.number(), expired: z.number() }),
});

export const spooledMessageSchema = z.object({ id: z.number(), deliveryId: z.number().nullable(), logId: z.number().nullable(), rcptTo: z.string(), domain: z.string(), attempts: z.number(), nextAttemptAt: z.string(), expiresAt: z.string(), state: z.string(), lastReply: z.string().nullable(), waitReason: z.string().nullable() });
export const spooledMessagesSchema = z.object({ messages: z.array(spooledMessageSchema) });

export const adaptationSchema = z.object({ id: z.number(), site: z.string(), source: z.string().nullable(), rule: z.string(), action: z.string(), factor: z.number().nullable(), reason: z.string(), since: z.string(), until: z.string(), recoveredBy: z.string(), cancelledAt: z.string().nullable(), cancelledBy: z.string().nullable() });
export const adaptationListSchema = z.object({ adaptations: z.array(adaptationSchema) });
export const adaptationCreatedSchema = z.object({ id: z.number() });
export const adaptationCancelledSchema = z.object({ cancelled: z.literal(true) });

export const sendingIpsSchema = z.object({
  pools: z.array(z.object({ name: z.string(), ips: z.array(z.object({ address: z.string().nullable(), helo: z.string().nullable(), weight: z.number(), warmup: z.object({ plan: z.string(), day: z.number(), capPerProvider: z.number().nullable() }).nullable(), sentToday: z.record(z.string(), z.number()) })) })),
});

export const mxRulesSchema = z.object({ files: z.array(z.string()), rules: z.array(z.object({ name: z.string(), mx: z.array(z.string()), maxConnections: z.number(), maxMessagesPerConnection: z.number(), messagesPerHour: z.number().nullable(), messagesPerMinute: z.number().nullable(), tls: z.string(), shared: z.boolean(), maxReady: z.number() })) });

export const drainReportSchema = z.object({
  finished: z.number().describe('messages whose SMTP transaction ended while draining (their outcomes are written)'),
  handedBack: z.number().describe('messages not started, released for the other MTA nodes'),
  unfinished: z.number().describe('messages still in a transaction at the timeout: another node takes them when their lease runs out'),
  ms: z.number(),
  mtaProcesses: z.number().describe('MTA processes still alive on this database'),
});
