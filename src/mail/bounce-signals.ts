/**
 * Tells whether a mail that is neither a DSN nor an ARF report is a bounce, a complaint
 * or unsubscribe request in another format, or ordinary mail: sender names such as
 * MAILER-DAEMON, X-Failed-Recipients, bounce subjects in several languages.
 *
 * Signals only; reading recipients out of the body is bounce-text.ts's job.
 */
import { first, type Fields } from './report-fields.ts';

// Subjects of non-delivery reports, in English and in the languages large providers use.
const BOUNCE_SUBJECT = new RegExp(
  [
    'undeliver',
    'undelivered',
    'not (?:be )?delivered',
    'delivery (?:status )?notification',
    'delivery (?:has )?failed',
    'delivery fail',
    'failed delivery',
    'failure (?:notice|delivery)',
    'returned mail',
    'return(?:ed|ing) (?:mail|message) to sender',
    'mail delivery',
    'could not (?:be )?deliver',
    'non[- ]?deliver',
    '\\bndr\\b',
    'mail system error',
    'delivery problem',
    'message (?:not delivered|rejected|blocked)',
    'delivery (?:delayed|delay)',
    'delayed mail',
    '\\bdelayed \\d+ hours',
    'permanent (?:error|failure)',
    'unzustellbar',
    'nicht zustellbar',
    'non remis',
    'non distribu',
    'non recapitabil',
    'impossibile recapitare',
    'no (?:se ha podido|se puede|pudo) entregar',
    'no entregad',
    'no se pudo entregar',
    'n[ãa]o entregue',
    'onbestelbaar',
    'niet bezorgd',
    'olevererbar',
    'kan ikke leveres',
    'nie dostarczon',
    'не доставлен',
    'недостав',
    '配信でき',
    '送信でき',
    'エラー',
    '未送达',
    '退信',
    '無法傳遞',
    '전송 실패',
  ].join('|'),
  'i',
);

const SYSTEM_SENDER =
  /^(?:mailer[-_.]?daemon|mail[-_.]?daemon|postmaster|post_master|mail\.?delivery(?:\.?system)?|mdaemon|smtp[-_.]?gateway|ndr|sysadmin|bounce)/i;
const SYSTEM_SENDER_NAME = /mail delivery|mailer[- ]?daemon|postmaster|delivery (?:subsystem|system|status)|ndr admin|mail administrator|system administrator/i;

export function isBounceSubject(subject: string): boolean {
  return BOUNCE_SUBJECT.test(subject);
}

/** True when the From header is a mail system rather than a person. */
export function isSystemSender(from: string, fromName: string, rawFrom: string): boolean {
  return SYSTEM_SENDER.test(from) || SYSTEM_SENDER_NAME.test(fromName) || /mailer-daemon|postmaster/i.test(rawFrom);
}

/** Addresses named by X-Failed-Recipients (Exim, Gmail and others add it to bounces). */
export function failedRecipientsHeader(headers: Fields): string[] {
  const values = headers.get('x-failed-recipients') ?? [];
  return values.flatMap((v) => v.split(/[,\s]+/)).filter((v) => v.includes('@'));
}

/** Microsoft JMRP and similar complaint reports that carry no feedback-report part. */
export function isComplaintWithoutReport(headers: Fields, subject: string): boolean {
  return /^\s*complaint about message from\b/i.test(subject) || headers.has('x-hmxmroriginalrecipient');
}

/** A one-click or mailto List-Unsubscribe request sent by a mail client. */
export function isUnsubscribeRequest(headers: Fields, subject: string): boolean {
  const apple = first(headers, 'x-apple-unsubscribe');
  if (apple && /true/i.test(apple)) return true;
  return /^\s*unsubscribe\s*$/i.test(subject);
}
