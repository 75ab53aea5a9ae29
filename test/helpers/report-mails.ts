/**
 * Bounce and complaint mails as tests hand them to the bounce listener: a DSN (RFC 3464)
 * the way Postfix writes one and an ARF report (RFC 5965) the way a feedback loop sends it,
 * each optionally with the returned message's headers (its Message-ID, X-Estafeta-Log…).
 * Text, not built with the simulator's MIME code, so a test reads exactly what arrives.
 */

export interface DsnMail {
  /** Final-Recipient. */
  rcpt: string;
  to: string;
  subject?: string;
  status?: string;
  diagnostic?: string;
  /** Reporting MTA host (also in From). */
  mx?: string;
  /** A line of the human-readable part. */
  text?: string;
  /** Headers of the returned message; without them no text/rfc822-headers part. */
  original?: Record<string, string>;
}

export function dsnMail(d: DsnMail): string {
  const mx = d.mx ?? 'mx.inbox.test';
  return [
    `From: Mail Delivery System <MAILER-DAEMON@${mx}>`,
    `To: ${d.to}`,
    `Subject: ${d.subject ?? 'Undelivered Mail Returned to Sender'}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain',
    '',
    d.text ?? `This is the mail system at host ${mx}. Your message could not be delivered.`,
    '',
    '--b1',
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${mx}`,
    '',
    `Final-Recipient: rfc822; ${d.rcpt}`,
    'Action: failed',
    `Status: ${d.status ?? '5.1.1'}`,
    `Diagnostic-Code: smtp; ${d.diagnostic ?? `550 5.1.1 <${d.rcpt}>: Recipient address rejected: User unknown`}`,
    '',
    ...originalPart('b1', d.original),
    '--b1--',
    '',
  ].join('\r\n');
}

export interface ArfMail {
  /** Original-Rcpt-To. */
  rcpt: string;
  to: string;
  subject?: string;
  from?: string;
  userAgent?: string;
  original?: Record<string, string>;
}

export function arfMail(a: ArfMail): string {
  return [
    `From: ${a.from ?? 'feedback@inbox.test'}`,
    `To: ${a.to}`,
    `Subject: ${a.subject ?? 'Complaint about message'}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=feedback-report; boundary="f1"',
    '',
    '--f1',
    'Content-Type: text/plain',
    '',
    'This is an email abuse report.',
    '--f1',
    'Content-Type: message/feedback-report',
    '',
    'Feedback-Type: abuse',
    `User-Agent: ${a.userAgent ?? 'InboxFBL/1.0'}`,
    'Version: 1',
    `Original-Rcpt-To: ${a.rcpt}`,
    '',
    ...originalPart('f1', a.original),
    '--f1--',
    '',
  ].join('\r\n');
}

function originalPart(boundary: string, original: Record<string, string> | undefined): string[] {
  if (!original) return [];
  return [`--${boundary}`, 'Content-Type: text/rfc822-headers', '', ...Object.entries(original).map(([k, v]) => `${k}: ${v}`), ''];
}
