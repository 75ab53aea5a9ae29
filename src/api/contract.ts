/**
 * The API's contract for its clients: the types of its answers, inferred from the zod
 * schemas that the server validates, serializes and documents them with (OpenAPI). The
 * dashboard (web/src/types.ts) and the CLI (src/cli/) read these instead of typing answers
 * by hand, so a changed answer breaks their type check instead of a page.
 *
 * Types only: every import here is `import type`, so nothing of the server reaches the
 * dashboard's bundle; the schema files it names import nothing but zod (and the role list).
 * What an answer means is said where its schema is, not here.
 */
import type { z } from 'zod';
import type {
  analysisLineSchema,
  analysisSchema,
  auditSchema,
  auditTrailSchema,
  deliveryDetailSchema,
  deliveryListItemSchema,
  deliveryListSchema,
  deliverySchema,
  domainsSchema,
  eventSchema,
  failuresSchema,
  kpisSchema,
  linkReportSchema,
  logDetailSchema,
  logPageSchema,
  logRowSchema,
  logSchema,
  recipientsImportedSchema,
  throughputSchema,
} from './schemas.ts';
import type { apiKeyCreatedSchema, apiKeyListSchema, apiKeySchema, principalSchema, roleSchema, signedInSchema, userAccountSchema, userListSchema } from './access-schemas.ts';
import type { dkimKeyListSchema, dkimKeySchema } from './dkim-schemas.ts';
import type { inboundMailDetailSchema, inboundMailListSchema, inboundMailSchema, qualificationListSchema, qualificationSchema } from './bounce-schemas.ts';
import type { bulkReleaseSchema, incidentListSchema, incidentResolvedSchema, incidentSchema, quarantineEntryDetailSchema, quarantineEntrySchema, quarantinePageSchema, quarantineStatsSchema } from './quarantine-schemas.ts';
import type { webhookAttemptSchema, webhookCreatedSchema, webhookDetailSchema, webhookEndpointSchema, webhookListSchema, webhookReplayedSchema, webhookTestResultSchema } from './webhook-schemas.ts';
import type { streamListSchema, streamSchema } from './stream-schemas.ts';
import type { streamReportSchema, streamSummarySchema, windowKpisSchema } from './stream-report-schemas.ts';
import type { adaptationCancelledSchema, adaptationCreatedSchema, adaptationListSchema, adaptationSchema, drainReportSchema, mtaQueuesSchema, mxRulesSchema, sendingIpsSchema, spooledMessageSchema, spooledMessagesSchema } from './mta-schemas.ts';

// Access: /auth, /users, /api-keys
export type Role = z.infer<typeof roleSchema>;
export type Principal = z.infer<typeof principalSchema>;
export type SignedIn = z.infer<typeof signedInSchema>;
export type UserAccount = z.infer<typeof userAccountSchema>;
export type UserList = z.infer<typeof userListSchema>;
export type ApiKey = z.infer<typeof apiKeySchema>;
export type ApiKeyList = z.infer<typeof apiKeyListSchema>;
export type ApiKeyCreated = z.infer<typeof apiKeyCreatedSchema>;

// Deliveries: /deliveries and its actions
export type Delivery = z.infer<typeof deliverySchema>;
export type Kpis = z.infer<typeof kpisSchema>;
export type LinkReport = z.infer<typeof linkReportSchema>;
export type DeliveryListItem = z.infer<typeof deliveryListItemSchema>;
export type DeliveryList = z.infer<typeof deliveryListSchema>;
export type DeliveryDetail = z.infer<typeof deliveryDetailSchema>;
export type AnalysisProgress = NonNullable<DeliveryDetail['analysisProgress']>;
export type Analysis = z.infer<typeof analysisSchema>;
export type AnalysisLine = z.infer<typeof analysisLineSchema>;
export type RecipientsImported = z.infer<typeof recipientsImportedSchema>;
export type Throughput = z.infer<typeof throughputSchema>;
export type ThroughputPoint = Throughput['points'][number];
export type Failures = z.infer<typeof failuresSchema>;
export type DomainBreakdown = z.infer<typeof domainsSchema>;
export type AuditEntry = z.infer<typeof auditSchema>;
export type AuditTrail = z.infer<typeof auditTrailSchema>;

// Delivery logs: /deliveries/:id/logs, /logs
export type LogEntry = z.infer<typeof logSchema>;
export type LogPage = z.infer<typeof logPageSchema>;
export type LogRow = z.infer<typeof logRowSchema>;
export type LogEvent = z.infer<typeof eventSchema>;
export type LogDetail = z.infer<typeof logDetailSchema>;

// Live updates (server-sent events, routes/stream.ts). They have no response schema (an
// event stream has none in OpenAPI): stream.ts checks what it sends against these types.
/** "delivery" event of /deliveries/:id/stream. */
export interface DeliveryStreamEvent {
  delivery: Omit<Delivery, 'html' | 'text'>;
  kpis: Kpis;
  analysisProgress: AnalysisProgress | null;
}
/** One changed row in a "deliveries" event of /stream; kpis is left out for a delivery just deleted. */
export type DeliveryListChange = Pick<Delivery, 'id' | 'label' | 'state' | 'stateCode' | 'stateLabel' | 'startedAt' | 'finishedAt' | 'lastError'> & { updatedAt: string | null; kpis?: Kpis };
/** "deliveries" event of /stream. */
export interface DeliveryListStreamEvent {
  deliveries: DeliveryListChange[];
  latestId: number;
}

// Quarantine: /quarantine
export type QuarantineEntry = z.infer<typeof quarantineEntrySchema>;
export type QuarantineEntryDetail = z.infer<typeof quarantineEntryDetailSchema>;
export type QuarantinePage = z.infer<typeof quarantinePageSchema>;
export type QuarantineStats = z.infer<typeof quarantineStatsSchema>;
export type BulkRelease = z.infer<typeof bulkReleaseSchema>;
export type Incident = z.infer<typeof incidentSchema>;
export type IncidentList = z.infer<typeof incidentListSchema>;
export type IncidentResolved = z.infer<typeof incidentResolvedSchema>;

// Bounces: /bounces
export type Qualification = z.infer<typeof qualificationSchema>;
export type QualificationList = z.infer<typeof qualificationListSchema>;
export type InboundMail = z.infer<typeof inboundMailSchema>;
export type InboundMailList = z.infer<typeof inboundMailListSchema>;
export type InboundMailDetail = z.infer<typeof inboundMailDetailSchema>;

// DKIM: /dkim/keys
export type DkimKey = z.infer<typeof dkimKeySchema>;
export type DkimKeyList = z.infer<typeof dkimKeyListSchema>;

// Delivery engine: /mta
export type MtaQueues = z.infer<typeof mtaQueuesSchema>;
export type SpooledMessage = z.infer<typeof spooledMessageSchema>;
export type SpooledMessages = z.infer<typeof spooledMessagesSchema>;
export type Adaptation = z.infer<typeof adaptationSchema>;
export type AdaptationList = z.infer<typeof adaptationListSchema>;
export type AdaptationCreated = z.infer<typeof adaptationCreatedSchema>;
export type AdaptationCancelled = z.infer<typeof adaptationCancelledSchema>;
export type SendingIps = z.infer<typeof sendingIpsSchema>;
export type SendingIp = SendingIps['pools'][number]['ips'][number];
export type MxRules = z.infer<typeof mxRulesSchema>;
export type DrainReport = z.infer<typeof drainReportSchema>;

// Webhooks: /webhooks
export type WebhookEndpoint = z.infer<typeof webhookEndpointSchema>;
export type WebhookAttempt = z.infer<typeof webhookAttemptSchema>;
export type WebhookCreated = z.infer<typeof webhookCreatedSchema>;
export type WebhookDetail = z.infer<typeof webhookDetailSchema>;
export type WebhookList = z.infer<typeof webhookListSchema>;
export type WebhookReplayed = z.infer<typeof webhookReplayedSchema>;
export type WebhookTestResult = z.infer<typeof webhookTestResultSchema>;

// Message streams: /streams, their figures over a window (routes/stream-reports.ts)
export type Stream = z.infer<typeof streamSchema>;
export type StreamList = z.infer<typeof streamListSchema>;
export type StreamSummary = z.infer<typeof streamSummarySchema>;
export type StreamSummaryItem = StreamSummary['streams'][number];
export type StreamReport = z.infer<typeof streamReportSchema>;
export type StreamWindowKpis = z.infer<typeof windowKpisSchema>;
