/**
 * Campaign's built-in control rules that apply to email, run on the delivery's content and
 * settings: subject and sender characters ("Object approval"), an unsubscribe link in each
 * content, message size, and a validity period long enough for the volume. Each check adds
 * lines to the report; none touches the database.
 */
import type { ReportLines } from './report.ts';

export interface CheckedDelivery {
  subject: string;
  fromAddress: string;
  /** The sender's display name ("From: name <address>"). */
  fromName?: string;
  html: string | null;
  text: string | null;
  validityMs: number;
}

export interface CheckLimits {
  warnSizeBytes: number;
  maxSizeBytes: number;
  /** Messages per second the platform is assumed to reach, for the validity check. */
  estimatedRatePerSecond: number;
}

const UNSUBSCRIBE_WORDS = /unsubscribe|opt[- ]?out|d[ée]sabonner|d[ée]sinscri|darse de baja|baja|abmelden|disiscriviti|descadastr|afmelden/i;

export function checkSubjectAndSender(d: CheckedDelivery, out: ReportLines): void {
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(d.subject)) out.add('error', 'subject-control-characters', 'The subject contains control characters that break mail programs.');
  else if (/[^\x20-\x7e]/.test(d.subject.replace(/\{\{[^}]*\}\}/g, ''))) {
    out.add('warning', 'subject-special-characters', 'The subject contains non-ASCII characters (accents, emoji); some mail programs show them badly.');
  }
  if (d.subject.length > 150) out.add('warning', 'subject-long', `The subject is ${d.subject.length} characters long; most mail programs show about 60.`);
  if (/[^\x20-\x7e]/.test(d.fromAddress)) out.add('warning', 'sender-special-characters', 'The sender address contains non-ASCII characters; receivers without SMTPUTF8 will refuse it.');
  // A header is one line: the message builder turns line breaks into spaces rather than let
  // them start a new header, so say so before the operator sees it in a mailbox.
  if (/[\r\n]/.test(d.subject.replace(/\{\{[^}]*\}\}|\{%[^%]*%\}/g, ''))) out.add('warning', 'subject-line-break', 'The subject contains a line break; it is sent, and shows, as a space.');
  if (/[\r\n]/.test(d.fromName ?? '')) out.add('warning', 'sender-name-line-break', 'The sender name (From) contains a line break; it is sent, and shows, as a space.');
}

/** Campaign's "Unsubscription link approval": at least one opt-out link in each content. */
export function checkUnsubscribeLinks(d: CheckedDelivery, out: ReportLines): void {
  const hasLink = (content: string) => /\{\{-?\s*unsubscribeUrl\b/.test(content) || UNSUBSCRIBE_WORDS.test(content);
  for (const [name, content] of [['HTML', d.html], ['text', d.text]] as const) {
    if (content && !hasLink(content)) {
      out.add('warning', 'unsubscribe-link-missing', `The ${name} content has no unsubscribe link: add {{ unsubscribeUrl }} (the List-Unsubscribe header is added anyway).`);
    }
  }
}

export function checkMessageSize(maxSize: number, samples: string[], limits: CheckLimits, out: ReportLines): void {
  const kb = (n: number) => `${Math.round(n / 1024)} KB`;
  if (maxSize > limits.maxSizeBytes) out.add('error', 'message-too-large', `The largest message is ${kb(maxSize)}, over the ${kb(limits.maxSizeBytes)} limit: mailbox providers slow down or refuse large messages.`, { samples });
  else if (maxSize > limits.warnSizeBytes) out.add('warning', 'message-large', `The largest message is ${kb(maxSize)}; ${kb(limits.warnSizeBytes)} or less is recommended.`, { samples });
}

/** Campaign's "Validity period check": the validity period leaves time to send everything. */
export function checkValidity(d: CheckedDelivery, toDeliver: number, limits: CheckLimits, out: ReportLines): void {
  const hours = (ms: number) => Math.round((ms / 3_600_000) * 10) / 10;
  const neededMs = (toDeliver / limits.estimatedRatePerSecond) * 1000;
  if (neededMs > d.validityMs) {
    out.add('warning', 'validity-too-short', `Sending ${toDeliver} messages at about ${limits.estimatedRatePerSecond} per second takes about ${hours(neededMs)} h, longer than the validity period (${hours(d.validityMs)} h): messages not sent by then will fail.`);
  } else if (d.validityMs < 3_600_000) {
    out.add('warning', 'validity-short', `The validity period is ${Math.round(d.validityMs / 60000)} minutes: soft-bounced messages get little time to be retried.`);
  } else {
    out.add('info', 'validity', `Messages are retried for up to ${hours(d.validityMs)} h after the start.`);
  }
}

/**
 * The rendering budget of the analysis (target-pass.ts): content over it is reported with
 * what one message costs, since the sender would spend as much on every message.
 */
export function checkRenderCost(cost: { ms: number; rendered: number; exceeded: boolean }, targeted: number, budget: { averageMs: number; allowanceMs: number }, out: ReportLines): void {
  if (!cost.exceeded) return;
  const perMessage = cost.ms / Math.max(1, cost.rendered);
  const shown = perMessage >= 10 ? String(Math.round(perMessage)) : perMessage.toFixed(1);
  const analysisS = Math.round((budget.allowanceMs + budget.averageMs * targeted) / 100) / 10;
  out.add('error', 'render-too-slow', `Rendering one message takes ${shown} ms (on average over ${cost.rendered} recipients); the limit is ${budget.averageMs} ms per message on average, ${analysisS} s for this analysis of ${targeted} recipients. The other recipients were not rendered: simplify the content (a loop inside a loop multiplies the work).`, { count: cost.rendered });
}
