/**
 * Table types for the typed query builder. One interface per table; timestamps are epoch
 * milliseconds, JSON columns are text, booleans are 0/1 integers, so SQLite and PostgreSQL
 * read back the same values. The tables themselves are created by db/migrations.
 */
import type { Generated } from 'kysely';

export interface SettingsTable {
  key: string;
  value: string;
}

export interface DeliveriesTable {
  id: Generated<number>;
  label: string;
  state: number;
  from_name: string;
  from_address: string;
  reply_to: string | null;
  subject: string;
  html: string | null;
  text: string | null;
  headers: string; // JSON object of extra headers
  unsubscribe_url: string | null;
  /** 1: links and opens are tracked (the default). */
  tracking: Generated<number>;
  /** 1: links of the text part are tracked too (0: left readable). */
  track_text_links: Generated<number>;
  validity_ms: number;
  valid_until: number | null;
  content_version: Generated<number>;
  analyzed_version: number | null;
  analysis: string | null; // JSON analysis report
  targeted: Generated<number>;
  to_deliver: Generated<number>;
  excluded: Generated<number>;
  created_at: number;
  updated_at: number;
  confirmed_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  sender_owner: string | null;
  sender_until: number | null;
  last_error: string | null;
  ip_pool: string | null;
  /** 'bulk' (a delivery) or 'stream' (a message stream: never finished, messages sent one by one). */
  kind: Generated<string>;
  /** A stream's options, JSON (streams/options.ts); null for a delivery. */
  stream_options: string | null;
}

export interface DeliveryTargetsTable {
  delivery_id: number;
  row_no: number;
  email: string | null;
  data: string; // JSON object of personalization fields
}

export interface DeliveryLogsTable {
  id: Generated<number>;
  delivery_id: number;
  row_no: number;
  address: string;
  domain: string;
  status: number;
  failure_type: number;
  failure_reason: number | null;
  reply: string | null;
  /**
   * A delivery's logs leave it null: their Message-ID is computed from the ids and the
   * delivery's From (mail/verp.ts messageIdFor). A stream's logs keep theirs here, since each
   * message of a stream has its own From domain.
   */
  message_id: string | null;
  attempts: number;
  event_at: number;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
  complained_at: number | null;
  /** First open (or click, which implies one) judged human. */
  opened_at: number | null;
  /** First click judged human. */
  clicked_at: number | null;
  /** The link ids this log clicked, comma-separated (unique clicks per link). */
  clicked_links: string | null;
}

export interface QuarantineAuditTable {
  id: Generated<number>;
  address: string;
  at: number;
  /** The operator's name, "recipient" (an unsubscription) or "system". */
  actor: string;
  action: string;
  detail: string | null;
}

export interface DeliveryLinksTable {
  delivery_id: number;
  link_id: number;
  url: string;
  label: string;
  /** 'html' or 'text'. */
  part: string;
  /** Order of the link in its part, from 1. */
  position: number;
  /** 1 when the URL has personalization: each recipient's URL travels signed in its link. */
  personalized: number;
}

export interface DeliveryCountersTable {
  delivery_id: number;
  name: string;
  value: number;
}

export interface DeliveryAuditTable {
  id: Generated<number>;
  delivery_id: number;
  at: number;
  actor: string;
  action: string;
  detail: string | null;
}

export interface MtaSpoolTable {
  id: Generated<number>;
  log_id: number | null;
  delivery_id: number | null;
  queue: string;
  domain: string;
  mail_from: string;
  rcpt_to: string;
  message_id: string | null;
  size: number;
  attempts: number;
  next_attempt_at: number;
  expires_at: number;
  held: number;
  lease_owner: string | null;
  last_reply: string | null;
  created_at: number;
  pool: string | null;
  wait_reason: string | null;
}

export interface MtaBodiesTable {
  id: number;
  body: Buffer;
}

export interface EventsTable {
  id: Generated<number>;
  key: string;
  type: string;
  log_id: number | null;
  delivery_id: number | null;
  occurred_at: number;
  payload: string; // JSON
  applied_at: number | null;
  /** What the feedback service judged when applying it (e.g. a machine open, and why). */
  note: Generated<string | null>;
  created_at: number;
}

export interface QuarantineTable {
  address: string;
  domain: string;
  status: number;
  failure_type: number;
  failure_reason: number | null;
  error_count: number;
  last_error_at: number | null;
  last_significant_at: number | null;
  error_text: string | null;
  delivery_id: number | null;
  created_at: number;
  updated_at: number;
}

export interface InboundMailsTable {
  id: Generated<number>;
  received_at: number;
  mail_from: string;
  rcpt_to: string;
  remote_ip: string | null;
  size: number;
  raw: Buffer;
  /** received, processed, to-qualify, ignored, unparsable, unmatched */
  status: string;
  kind: string | null;
  log_id: number | null;
  detail: string | null; // JSON
  processed_at: number | null;
}

export interface BounceQualificationsTable {
  text_key: string;
  first_text: string;
  occurrences: number;
  /** sync (SMTP reply during delivery) or async (bounce mail) */
  source: string;
  category: string;
  failure_type: number;
  failure_reason: number | null;
  rule_id: string | null;
  /** to-qualify, keep, ignore */
  status: string;
  qualified_by: string | null;
  first_seen: number;
  last_seen: number;
}

export interface QuarantineIncidentsTable {
  id: Generated<number>;
  domain: string;
  started_at: number;
  until: number;
  hard_rate: number;
  baseline_rate: number;
  held: Generated<number>;
  /** null while open; confirmed (held entries quarantined) or released */
  resolution: string | null;
  resolved_at: number | null;
  resolved_by: string | null;
}

export interface UsersTable {
  id: Generated<number>;
  name: string;
  password_hash: string;
  role: string;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
}

export interface ApiKeysTable {
  id: Generated<number>;
  name: string;
  key_hash: string;
  prefix: string;
  role: string;
  created_by: string;
  created_at: number;
  last_used_at: number | null;
  /** JSON array of the stream ids the key is limited to; null: not limited. */
  streams: string | null;
}

export interface SessionsTable {
  token_hash: string;
  user_id: number;
  created_at: number;
  expires_at: number;
}

export interface DkimKeysTable {
  id: Generated<number>;
  domain: string;
  selector: string;
  algorithm: string; // 'rsa-sha256' | 'ed25519-sha256'
  private_key: string; // PKCS#8 PEM, never sent out of the server
  public_key: string; // base64 p= value of the DNS record
  active: number;
  created_at: number;
  updated_at: number;
}

export interface MtaAdaptationsTable {
  id: Generated<number>;
  site: string;
  /** The sending IP the adaptation concerns, or null for the whole site. */
  source: string | null;
  rule: string;
  /** suspend or throttle */
  action: string;
  factor: number | null;
  reason: string;
  started_at: number;
  until: number;
  recovery_ms: number;
  cancelled_at: number | null;
  cancelled_by: string | null;
}

export interface MtaIpUsageTable {
  day: number;
  ip: string;
  provider: string;
  sent: number;
}

export interface MtaProcessesTable {
  owner: string;
  started_at: number;
  heartbeat_at: number;
  /** JSON: per site, [messages held ready, share of the rule's rates, connections] (shaping/peers.ts). */
  shares: Generated<string>;
}

export interface WebhookEndpointsTable {
  id: Generated<number>;
  url: string;
  /** The signing secret, sealed with the instance secret (lib/sealed.ts); shown once, at creation. */
  secret: string;
  /** The event types wanted, comma-separated; null for every type. */
  event_types: string | null;
  /** Only this delivery's events, or null for all traffic. */
  delivery_id: number | null;
  enabled: number;
  disabled_reason: string | null;
  created_at: number;
  created_by: string;
  /** The id of the last event delivered (or skipped by the filters): the durable cursor. */
  cursor: number;
  /** Failed attempts in a row, and when the first of them was. */
  failures: number;
  failing_since: number | null;
  next_attempt_at: number;
  /** The process posting to this endpoint now, until when. */
  lease_owner: string | null;
  lease_until: number;
}

export interface WebhookAttemptsTable {
  id: Generated<number>;
  endpoint_id: number;
  first_event_id: number | null;
  last_event_id: number | null;
  events: number;
  attempt: number;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  at: number;
}

export interface IdempotencyKeysTable {
  /** Who called: "api-key:<id>" or "user:<id>". */
  principal: string;
  key: string;
  status: number;
  /** The first answer, JSON. */
  response: string;
  created_at: number;
}

export interface SmtpCredentialsTable {
  id: Generated<number>;
  stream_id: number;
  username: string;
  /** SHA-256 of the password (32 random bytes, so no slow hash is needed). */
  password_hash: string;
  created_by: string;
  created_at: number;
  last_used_at: number | null;
}

export interface MessageTemplatesTable {
  id: Generated<number>;
  name: string;
  subject: string;
  html: string | null;
  text: string | null;
  version: number;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface Database {
  message_templates: MessageTemplatesTable;
  smtp_credentials: SmtpCredentialsTable;
  idempotency_keys: IdempotencyKeysTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_attempts: WebhookAttemptsTable;
  mta_processes: MtaProcessesTable;
  mta_adaptations: MtaAdaptationsTable;
  mta_ip_usage: MtaIpUsageTable;
  dkim_keys: DkimKeysTable;
  inbound_mails: InboundMailsTable;
  bounce_qualifications: BounceQualificationsTable;
  quarantine_incidents: QuarantineIncidentsTable;
  settings: SettingsTable;
  deliveries: DeliveriesTable;
  delivery_targets: DeliveryTargetsTable;
  delivery_logs: DeliveryLogsTable;
  delivery_links: DeliveryLinksTable;
  delivery_counters: DeliveryCountersTable;
  delivery_audit: DeliveryAuditTable;
  mta_spool: MtaSpoolTable;
  mta_bodies: MtaBodiesTable;
  events: EventsTable;
  quarantine: QuarantineTable;
  quarantine_audit: QuarantineAuditTable;
  users: UsersTable;
  api_keys: ApiKeysTable;
  sessions: SessionsTable;
}
