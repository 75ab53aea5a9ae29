/**
 * Amazon SES event notifications delivered by email (SNS email subscriptions): a JSON
 * document with notificationType Bounce, Complaint or Delivery, either bare or wrapped in
 * an SNS envelope whose "Message" field holds the JSON as a string.
 *
 * Reads the documented fields only (bouncedRecipients, complainedRecipients, delivery).
 * Does not verify the SNS signature: the inbound listener decides whom to trust.
 */
import { normalizeAddress } from './addresses-in-text.ts';
import { normalizeAction, type DsnAction } from './dsn.ts';
import { findStatusCode } from './reply-text.ts';

export interface SesRecipient {
  recipient: string;
  action: DsnAction | null;
  status: string | null;
  diagnostic: string | null;
}

export interface SesNotification {
  type: 'bounce' | 'complaint' | 'delivery';
  feedbackType: string | null;
  reportingMta: string | null;
  messageId: string | null;
  recipients: SesRecipient[];
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function parseJsonObject(text: string): Json | null {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return null;
  try {
    // SNS wraps long lines in the email body; the JSON itself has no raw newlines.
    const value: unknown = JSON.parse(text.slice(start, end + 1).replace(/!?\r?\n ?/g, ''));
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

/** Parses an SES notification from a mail body, or returns null when it is not one. */
export function parseSesNotification(text: string): SesNotification | null {
  if (!/notificationType|"Type"\s*:\s*"Notification"/.test(text)) return null;
  let doc = parseJsonObject(text);
  if (doc && typeof doc.Message === 'string') doc = parseJsonObject(doc.Message);
  if (!doc) return null;
  const kind = str(doc.notificationType ?? doc.eventType)?.toLowerCase();
  const mail = isObject(doc.mail) ? doc.mail : {};
  const messageId = str(mail.messageId);
  if (kind === 'bounce' && isObject(doc.bounce)) {
    const b = doc.bounce;
    const transient = str(b.bounceType) === 'Transient';
    return {
      type: 'bounce',
      feedbackType: null,
      reportingMta: str(b.reportingMTA)?.replace(/^dsn;\s*/i, '') ?? null,
      messageId,
      recipients: list(b.bouncedRecipients).flatMap((r) => {
        const recipient = normalizeAddress(str(r.emailAddress));
        if (!recipient) return [];
        const diagnostic = str(r.diagnosticCode)?.replace(/^smtp;\s*/i, '') ?? null;
        return [{
          recipient,
          action: normalizeAction(str(r.action)) ?? (transient ? 'delayed' : 'failed'),
          status: findStatusCode(str(r.status) ?? '') ?? (diagnostic ? findStatusCode(diagnostic) : null),
          diagnostic: diagnostic ?? `${str(b.bounceType) ?? ''} ${str(b.bounceSubType) ?? ''}`.trim(),
        }];
      }),
    };
  }
  if (kind === 'complaint' && isObject(doc.complaint)) {
    const c = doc.complaint;
    return {
      type: 'complaint',
      feedbackType: str(c.complaintFeedbackType)?.toLowerCase() ?? 'abuse',
      reportingMta: null,
      messageId,
      recipients: list(c.complainedRecipients).flatMap((r) => {
        const recipient = normalizeAddress(str(r.emailAddress));
        return recipient ? [{ recipient, action: null, status: null, diagnostic: null }] : [];
      }),
    };
  }
  if (kind === 'delivery' && isObject(doc.delivery)) {
    const d = doc.delivery;
    const response = str(d.smtpResponse);
    const recipients = Array.isArray(d.recipients) ? d.recipients : [];
    return {
      type: 'delivery',
      feedbackType: null,
      reportingMta: str(d.reportingMTA),
      messageId,
      recipients: recipients.flatMap((r) => {
        const recipient = normalizeAddress(str(r));
        return recipient
          ? [{ recipient, action: 'delivered' as const, status: response ? findStatusCode(response) : null, diagnostic: response }]
          : [];
      }),
    };
  }
  return null;
}
