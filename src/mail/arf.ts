/**
 * RFC 5965 Abuse Reporting Format: the fields of a message/feedback-report part
 * (Feedback-Type, Original-Rcpt-To, Original-Mail-From, Source-IP, ...).
 *
 * Parses field text only; finding the part and falling back to the returned message's To
 * header for the recipient is bounce-mail.ts's job.
 */
import { normalizeAddress } from './addresses-in-text.ts';
import { all, first, parseFieldBlocks, type Fields } from './report-fields.ts';

export interface FeedbackReport {
  feedbackType: string | null;
  userAgent: string | null;
  /** Original-Rcpt-To values (and Removal-Recipient for unsubscribe reports), normalized. */
  originalRecipients: string[];
  originalMailFrom: string | null;
  reportedDomain: string | null;
  sourceIp: string | null;
  arrivalDate: string | null;
}

/** True when a text holds feedback-report fields (reports sent as text/plain by older loops). */
export function looksLikeFeedbackReport(text: string): boolean {
  return /^Feedback-Type:[ \t]*[A-Za-z-]+[ \t]*$/im.test(text) && /^(?:Version|User-Agent):/im.test(text);
}

/** Parses the text of a feedback-report part. Never throws; missing fields are null. */
export function parseFeedbackReport(text: string): FeedbackReport {
  const merged: Fields = new Map();
  for (const block of parseFieldBlocks(text)) {
    for (const [name, values] of block) merged.set(name, [...(merged.get(name) ?? []), ...values]);
  }
  const recipients: string[] = [];
  for (const value of [...all(merged, 'original-rcpt-to'), ...all(merged, 'removal-recipient')]) {
    const address = normalizeAddress(value);
    if (address && !recipients.includes(address)) recipients.push(address);
  }
  const type = first(merged, 'feedback-type');
  return {
    feedbackType: type ? type.trim().toLowerCase() : null,
    userAgent: first(merged, 'user-agent'),
    originalRecipients: recipients,
    originalMailFrom: normalizeAddress(first(merged, 'original-mail-from')),
    reportedDomain: first(merged, 'reported-domain'),
    sourceIp: first(merged, 'source-ip'),
    arrivalDate: first(merged, 'arrival-date') ?? first(merged, 'received-date'),
  };
}
