/**
 * Outcome events: what happened to one message, as values. The MTA and the inbound
 * listener write them to the events table (in the same transaction as the spool change
 * that caused them); the feedback service applies them to delivery logs, quarantine and
 * counters. Events are immutable; they are also each log's history.
 *
 * Their type names are public (the API's history, webhooks, the event stream): each is a
 * past-tense verb, and a name never changes once released (migration 0009 made them so).
 */
import type { Qualification } from '../mail/failure.ts';

export const EVENT_TYPES = [
  'delivered', // the remote MX accepted the message (2xx)
  'deferred', // temporary failure; the MTA will retry
  'bounced', // permanent failure during the SMTP session (synchronous bounce)
  'expired', // retried until the validity period ended
  'cancelled', // dropped by an operator (delivery stopped)
  'bounced-async', // a bounce mail (DSN or non-standard) arrived later
  'complained', // an ARF feedback report: the recipient marked the message as spam
  'auto-replied', // an out-of-office or other automatic reply
  'unsubscribed', // the recipient used the unsubscribe link or List-Unsubscribe
  'opened', // the open pixel was fetched (by the recipient, or by a machine: see the note)
  'clicked', // a tracked link was followed (by the recipient, or by a link scanner)
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface EventPayload {
  /** The SMTP reply or diagnostic text, e.g. "550 5.1.1 user unknown". */
  reply?: string | null;
  qualification?: Qualification | null;
  attempt?: number;
  nextAttemptAt?: number | null;
  mx?: string | null;
  mxIp?: string | null;
  sourceIp?: string | null;
  /** For inbound mail: what kind of mail and which stored mail it came from. */
  mailKind?: string | null;
  inboundId?: number | null;
  feedbackType?: string | null;
  /** The address the event concerns (for events that cannot be tied to a log). */
  address?: string | null;
  [key: string]: unknown;
}

export interface NewEvent {
  /** Idempotency key: the same fact written twice has the same key and is stored once. */
  key: string;
  type: EventType;
  logId: number | null;
  deliveryId: number | null;
  occurredAt: number;
  payload: EventPayload;
}

export interface StoredEvent extends NewEvent {
  id: number;
  appliedAt: number | null;
  /** What the feedback service judged when applying it, e.g. "machine: Apple Mail Privacy Protection". */
  note?: string | null;
}

/** The signal every writer of outcome events emits after its transaction commits. */
export interface EventSignals {
  /** Outcome events are in the events table (from the MTA's replies, or from bounce mails). */
  'outcomes:written': { source: 'mta' | 'inbound' | 'tracking'; events: number; delivered: number };
}
