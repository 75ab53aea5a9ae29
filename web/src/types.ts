// Shapes of the API's answers that the dashboard reads (see /api/v1/openapi.json).

export type Role = 'viewer' | 'operator' | 'admin';
export interface User {
  kind: 'user' | 'api-key';
  id: number;
  name: string;
  role: Role;
}

export interface Kpis {
  targeted: number;
  toDeliver: number;
  excluded: number;
  pending: number;
  takenIntoAccount: number;
  processed: number;
  sent: number;
  failed: number;
  cancelled: number;
  successPercent: number;
  failedPercent: number;
  softBouncesPendingRetry: number;
  quarantined: number;
  complaints: number;
  unsubscribes: number;
  failuresByReason: Record<string, number>;
}

export interface Delivery {
  id: number;
  label: string;
  state: string;
  stateCode: number;
  stateLabel: string;
  from: { name: string; address: string };
  replyTo: string | null;
  subject: string;
  validitySeconds: number;
  validUntil: string | null;
  createdAt: string;
  updatedAt: string;
  confirmedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
  kpis: Kpis;
}

export interface AnalysisLine {
  level: 'info' | 'warning' | 'error';
  code: string;
  message: string;
  count?: number;
  samples?: string[];
}

export interface Analysis {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  counts: { targeted: number; toDeliver: number; excluded: number; excludedByReason: Record<string, number>; personalizationErrors: number };
  messageSize: { max: number; average: number };
  topDomains: { domain: string; count: number }[];
  lines: AnalysisLine[];
  errors: number;
  warnings: number;
}

export interface DeliveryDetail extends Delivery {
  recipients: number;
  analysis: Analysis | null;
  analysisProgress: { done: number; total: number } | null;
}

export interface LogEntry {
  id: number;
  deliveryId: number;
  row: number;
  address: string;
  domain: string;
  status: string;
  statusLabel: string;
  failureType: string | null;
  failureReason: string | null;
  reply: string | null;
  attempts: number;
  createdAt: string;
  updatedAt: string;
  sentAt: string | null;
  complainedAt: string | null;
}

export interface LogEvent {
  id: number;
  type: string;
  occurredAt: string;
  appliedAt: string | null;
  payload: Record<string, unknown>;
}

export interface Failures {
  total: number;
  byReason: { failureType: string; failureReason: string; count: number; percentOfFailures: number }[];
  byDomain: { domain: string; failed: number; processed: number; percentOfProcessed: number }[];
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  detail: unknown;
}

export interface QuarantineEntry {
  address: string;
  domain: string;
  status: string;
  statusLabel: string;
  failureType: string | null;
  failureReason: string | null;
  errorCount: number;
  lastErrorAt: string | null;
  errorText: string | null;
  deliveryId: number | null;
  createdAt: string;
  updatedAt: string;
}
