/**
 * parseBounceMail: reads one mail that arrived at the return path and says what it is
 * (DSN, ARF complaint, auto-reply, non-standard bounce, or not a bounce), which recipients
 * it reports on, and the status, SMTP reply and explanation for each.
 *
 * Never throws: bad input comes back as kind 'unparsable' with an error. Does not decide
 * what a status means (qualification/) and does not correlate with deliveries (inbound/).
 */
import { looksLikeFeedbackReport, parseFeedbackReport } from './arf.ts';
import { autoReplySignal, challengeSignal } from './auto-reply.ts';
import { addressKey, findAddresses, normalizeAddress } from './addresses-in-text.ts';
import {
  failedRecipientsHeader,
  isBounceSubject,
  isComplaintWithoutReport,
  isSystemSender,
  isUnsubscribeRequest,
} from './bounce-signals.ts';
import { parseBounceText, readsLikeBounce, type TextRecipient } from './bounce-text.ts';
import { looksLikeDeliveryStatus, parseDeliveryStatus, type DsnRecipientFields } from './dsn.ts';
import { readMime, type MimeParts } from './mime-input.ts';
import { findReplyInText, findSmtpStage, findStatusCode, isGenericStatus, type SmtpStage } from './reply-text.ts';
import { fieldsToRecord, first, type Fields } from './report-fields.ts';
import { splitReturnedMessage } from './returned-message.ts';
import { parseSesNotification } from './ses-notification.ts';
import type { SmtpReply } from './smtp-reply.ts';

export type BounceKind = 'dsn' | 'arf' | 'auto-reply' | 'bounce' | 'not-bounce' | 'unparsable';
export type BounceAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface BounceRecipient {
  /** Final recipient (or the only one known), domain lower-cased. */
  recipient: string | null;
  /** DSN Original-Recipient when it differs from the final one (ORCPT: what was sent to). */
  originalRecipient: string | null;
  action: BounceAction | null;
  /** RFC 3463 status, e.g. "5.1.1". */
  status: string | null;
  /** Diagnostic-Code text, or the explanation found near the address in the body. */
  diagnostic: string | null;
  reply: SmtpReply | null;
  remoteMta: string | null;
  /** The SMTP command the remote server refused (CONNECT, HELO, MAIL, RCPT, DATA), when known. */
  command: SmtpStage | null;
}

export interface ParsedBounce {
  kind: BounceKind;
  recipients: BounceRecipient[];
  reportingMta: string | null;
  envelopeId: string | null;
  originalMessageId: string | null;
  /** Headers of the returned original, lower-cased names, first value of each. */
  originalHeaders: Record<string, string>;
  /** ARF Feedback-Type (abuse, fraud, ...), or "unsubscribe" for list-unsubscribe mail. */
  feedbackType: string | null;
  subject: string;
  from: string;
  error?: string;
}

/** How the diagnostic of an auto-reply that is a challenge-response request starts. */
export const CHALLENGE_PREFIX = 'challenge-response';

/** Parses a bounce mail. Never throws. */
export async function parseBounceMail(raw: Buffer | string): Promise<ParsedBounce> {
  try {
    if (raw === null || raw === undefined || raw.length === 0) return unparsable('empty input');
    const head = (typeof raw === 'string' ? raw.slice(0, 2000) : raw.subarray(0, 2000).toString('latin1')).replace(/^\s+/, '');
    if (!/^(?:From [^\r\n]*(?:\r\n?|\n))?[A-Za-z0-9][A-Za-z0-9-]*[ \t]*:/.test(head)) return unparsable('no header section');
    const parts = await readMime(raw);
    return interpret(parts);
  } catch (err) {
    return unparsable(err instanceof Error ? err.message : String(err));
  }
}

function unparsable(error: string): ParsedBounce {
  return {
    kind: 'unparsable',
    recipients: [],
    reportingMta: null,
    envelopeId: null,
    originalMessageId: null,
    originalHeaders: {},
    feedbackType: null,
    subject: '',
    from: '',
    error,
  };
}

/** A BounceRecipient with every field not given set to null. */
export function bounceRecipient(fields: Partial<BounceRecipient> & { recipient: string | null }): BounceRecipient {
  return {
    originalRecipient: null,
    action: null,
    status: null,
    diagnostic: null,
    reply: null,
    remoteMta: null,
    command: null,
    ...fields,
  };
}

function originalOf(parts: MimeParts, textOriginal: Fields | null): Fields | null {
  return parts.returned.find((f) => f.size > 0) ?? textOriginal;
}

function base(parts: MimeParts, kind: BounceKind, original: Fields | null): ParsedBounce {
  const messageId = (original && first(original, 'message-id')) ?? first(parts.headers, 'in-reply-to');
  return {
    kind,
    recipients: [],
    reportingMta: null,
    envelopeId: null,
    originalMessageId: messageId ? messageId.trim() : null,
    originalHeaders: original ? fieldsToRecord(original) : {},
    feedbackType: null,
    subject: parts.subject,
    from: parts.from,
  };
}

function firstToAddress(original: Fields | null, names = ['x-hmxmroriginalrecipient', 'to', 'delivered-to', 'x-original-to']): string | null {
  if (!original) return null;
  for (const name of names) {
    const value = first(original, name);
    const found = value ? findAddresses(value)[0] : undefined;
    if (found) return found.address;
  }
  return null;
}

// Headers of a returned message that name its envelope recipient.
const ENVELOPE_HEADERS = ['x-hmxmroriginalrecipient', 'x-original-to', 'delivered-to', 'x-failed-recipients'];

// The returned message's To: names the failed recipient only for mail sent to one person:
// a discussion list's To: is the list (List-Id, List-Post, Mailing-List, Precedence: list),
// and a To: with several addresses or a group ("undisclosed-recipients:;") names nobody
// in particular. The sender's own addresses (the list's bounce address) are never it.
function returnedRecipient(original: Fields | null, exclude: Set<string>): string | null {
  const envelope = firstToAddress(original, ENVELOPE_HEADERS);
  if (envelope || !original) return envelope;
  if (['list-id', 'list-post', 'mailing-list', 'x-mailing-list'].some((h) => original.has(h))) return null;
  if (/^\s*list\b/i.test(first(original, 'precedence') ?? '')) return null;
  const to = first(original, 'to') ?? '';
  if (/:\s*;/.test(to)) return null;
  const found = findAddresses(to);
  if (found.length !== 1 || exclude.has(addressKey(found[0].address))) return null;
  return found[0].address;
}

function fromDsn(r: DsnRecipientFields, fromText: TextRecipient | undefined): BounceRecipient {
  let diagnostic = r.diagnostic;
  let reply = diagnostic ? findReplyInText(diagnostic) : null;
  if (!diagnostic && fromText) {
    diagnostic = fromText.diagnostic;
    reply = fromText.reply;
  }
  let status = r.status;
  // A bare "5.0.0" says less than the code inside the diagnostic.
  if (isGenericStatus(status) && diagnostic) status = reply?.enhanced ?? findStatusCode(diagnostic) ?? status;
  return bounceRecipient({
    recipient: r.finalRecipient ?? r.originalRecipient,
    originalRecipient: r.originalRecipient && r.originalRecipient !== r.finalRecipient ? r.originalRecipient : null,
    action: r.action ?? (status?.startsWith('2') ? 'delivered' : status?.startsWith('4') ? 'delayed' : status ? 'failed' : null),
    status,
    diagnostic,
    reply,
    remoteMta: r.remoteMta ?? fromText?.remoteMta ?? null,
    command: (diagnostic ? findSmtpStage(diagnostic) : null) ?? fromText?.command ?? null,
  });
}

function fromText(t: TextRecipient): BounceRecipient {
  return bounceRecipient({ ...t });
}

function interpret(parts: MimeParts): ParsedBounce {
  const split = splitReturnedMessage(parts.text);
  const original = originalOf(parts, split.originalHeaders);
  const sender = normalizeAddress(first(parts.headers, 'to'));
  const exclude = new Set<string>();
  const fromAddress = normalizeAddress(parts.from);
  if (fromAddress) exclude.add(addressKey(fromAddress));
  if (sender) exclude.add(addressKey(sender));
  for (const name of ['from', 'return-path', 'sender', 'reply-to']) {
    const a = original ? normalizeAddress(first(original, name)) : null;
    if (a) exclude.add(addressKey(a));
  }
  const hinted = failedRecipientsHeader(parts.headers).map((a) => normalizeAddress(a)).filter((a): a is string => !!a);
  const textRecipients = () => parseBounceText(split.notice, { exclude, hinted });

  // RFC 5965 feedback report, or a complaint / unsubscribe in another format.
  const reportText = parts.feedbackReports.length > 0 ? parts.feedbackReports : looksLikeFeedbackReport(split.notice) ? [split.notice] : [];
  if (reportText.length > 0 || isComplaintWithoutReport(parts.headers, parts.subject)) {
    const report = reportText.length > 0 ? parseFeedbackReport(reportText.join('\n\n')) : null;
    const out = base(parts, 'arf', original);
    out.feedbackType = report?.feedbackType ?? 'abuse';
    const list = report && report.originalRecipients.length > 0 ? report.originalRecipients : [firstToAddress(original)];
    out.recipients = list.map((r) => bounceRecipient({ recipient: r, diagnostic: `feedback-type: ${out.feedbackType}` }));
    return out;
  }

  // RFC 3464 DSN, as a report part or pasted as text.
  const dsnText = parts.deliveryStatus.length > 0 ? parts.deliveryStatus : looksLikeDeliveryStatus(split.notice) ? [split.notice] : [];
  if (dsnText.length > 0) {
    const reports = dsnText.map(parseDeliveryStatus);
    const out = base(parts, parts.deliveryStatus.length > 0 ? 'dsn' : 'bounce', original);
    out.reportingMta = reports.find((r) => r.reportingMta)?.reportingMta ?? null;
    out.envelopeId = reports.find((r) => r.envelopeId)?.envelopeId ?? null;
    const fromBody = textRecipients();
    const rows = reports.flatMap((r) => r.recipients);
    out.recipients = rows.map((r) =>
      fromDsn(r, fromBody.find((t) => addressKey(t.recipient) === addressKey(r.finalRecipient ?? r.originalRecipient ?? ''))),
    );
    // A Final-Recipient that is not an address ("@host", a file path): take the address
    // the notice or the returned headers name instead.
    const named = new Set(out.recipients.map((r) => addressKey(r.recipient ?? '')));
    const spare = fromBody.filter((t) => !named.has(addressKey(t.recipient)));
    for (const r of out.recipients) {
      if (r.recipient) continue;
      const t = spare.shift();
      r.recipient = t?.recipient ?? returnedRecipient(original, exclude);
      r.diagnostic ??= t?.diagnostic ?? null;
    }
    if (out.recipients.length === 0) out.recipients = fromBody.map(fromText);
    if (out.recipients.length === 0) {
      const to = returnedRecipient(original, exclude);
      out.recipients = [bounceRecipient({ recipient: to, action: 'failed', diagnostic: collapse(split.notice) })];
    }
    return out;
  }

  const ses = parseSesNotification(parts.text);
  if (ses) {
    const out = base(parts, ses.type === 'complaint' ? 'arf' : ses.type === 'delivery' ? 'dsn' : 'bounce', original);
    out.feedbackType = ses.feedbackType;
    out.reportingMta = ses.reportingMta;
    out.originalMessageId ??= ses.messageId;
    out.recipients = ses.recipients.map((r) =>
      bounceRecipient({ ...r, reply: r.diagnostic ? findReplyInText(r.diagnostic) : null }),
    );
    return out;
  }

  if (isUnsubscribeRequest(parts.headers, parts.subject)) {
    const out = base(parts, 'arf', original);
    out.feedbackType = 'unsubscribe';
    out.recipients = [bounceRecipient({ recipient: fromAddress, diagnostic: 'list-unsubscribe request' })];
    return out;
  }

  const strong =
    hinted.length > 0 ||
    isSystemSender(parts.from, parts.fromName, first(parts.headers, 'from') ?? '') ||
    isBounceSubject(parts.subject);
  const challenge = strong ? null : challengeSignal(parts.from, parts.subject, split.notice);
  if (challenge) {
    const out = base(parts, 'auto-reply', original);
    // A challenge service writes on behalf of its user, whom the notice names.
    const service = fromAddress ? fromAddress.slice(fromAddress.lastIndexOf('@')) : '';
    const owner = challenge.startsWith('sender')
      ? findAddresses(split.notice.slice(0, 4000), 20).map((a) => a.address).find((a) => !exclude.has(addressKey(a)) && !a.toLowerCase().endsWith(service))
      : undefined;
    out.recipients = [bounceRecipient({ recipient: owner ?? fromAddress, diagnostic: `${CHALLENGE_PREFIX} (${challenge}): ${parts.subject}`.trim() })];
    return out;
  }
  const autoReply = strong ? null : autoReplySignal(parts.headers, parts.subject);
  if (autoReply) {
    const out = base(parts, 'auto-reply', original);
    out.recipients = [bounceRecipient({ recipient: fromAddress, diagnostic: `auto-reply (${autoReply}): ${parts.subject}`.trim() })];
    return out;
  }

  let found = textRecipients();
  if (found.length === 0 && parts.rawBody !== parts.text) {
    found = parseBounceText(splitReturnedMessage(parts.rawBody).notice, { exclude, hinted });
  }
  if (strong || (found.length > 0 && readsLikeBounce(split.notice))) {
    const out = base(parts, 'bounce', original);
    out.recipients = found.map(fromText);
    if (out.recipients.length === 0) {
      const to = returnedRecipient(original, exclude);
      const diagnostic = collapse(split.notice);
      const reply = findReplyInText(split.notice);
      out.recipients = [
        bounceRecipient({ recipient: to, action: 'failed', diagnostic, reply, status: reply?.enhanced ?? findStatusCode(split.notice) }),
      ];
    }
    return out;
  }
  return base(parts, 'not-bounce', original);
}

function collapse(text: string): string | null {
  const t = text.replace(/\s+/g, ' ').trim().slice(0, 2000);
  return t === '' ? null : t;
}
