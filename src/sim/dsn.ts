/**
 * Builds the asynchronous bounce (RFC 3464 DSN, multipart/report; report-type=delivery-status)
 * that a provider sends after accepting a message it later cannot deliver, in the styles of
 * real MTAs: Postfix, Exim and Exchange. Each carries the original headers as
 * text/rfc822-headers so the original Message-ID can be found.
 *
 * Writes the texts in its own words, shaped like those MTAs' (field order, subjects, the
 * human-readable part); does not send anything.
 */
import { parseSmtpReply } from '../mail/smtp-reply.ts';
import type { DsnStyle } from './profiles.ts';
import { addRawPart, domainOf, fields, foldField, newMessageId, reportRoot, rfcDate, type AcceptedCopy } from './report-parts.ts';

export interface DsnInput {
  copy: AcceptedCopy;
  /** The reply the provider's back end gave, e.g. "550 5.1.1 <x>: User unknown". */
  reply: string;
  style: DsnStyle;
  date?: Date;
}

/** The DSN as a complete message (headers and body, CRLF). */
export async function buildDsn(input: DsnInput): Promise<Buffer> {
  const { copy, style } = input;
  const date = input.date ?? new Date();
  const parsed = parseSmtpReply(input.reply);
  const status = parsed.enhanced ?? (parsed.code >= 500 ? '5.0.0' : '4.0.0');
  // The front MX accepted the message; the failure came from the provider's mailbox store.
  const backend = `mailstore.${copy.providerDomain}`;
  const root = reportRoot('delivery-status', copy.mxHost);
  const head = STYLES[style];
  root.setHeader({
    From: head.from(copy),
    To: `<${copy.returnPath}>`,
    Subject: head.subject(copy),
    Date: date,
    'Message-ID': newMessageId(copy.mxHost),
    'Auto-Submitted': 'auto-replied',
  });
  if (style === 'exim') root.setHeader('X-Failed-Recipients', copy.recipient);
  if (style === 'exchange') {
    root.setHeader('X-MS-Exchange-Message-Is-Ndr', '');
    root.setHeader('Content-Language', 'en-US');
  }

  if (style === 'exchange') {
    const alt = root.createChild('multipart/alternative');
    alt.createChild('text/plain; charset=utf-8').setContent(exchangeText(copy, input.reply, false));
    alt.createChild('text/html; charset=utf-8').setContent(exchangeText(copy, input.reply, true));
  } else {
    const human = style === 'postfix' ? postfixText(copy, input.reply, backend) : eximText(copy, input.reply, backend);
    addRawPart(root, ['Content-Description: Notification', 'Content-Type: text/plain; charset=us-ascii'], human);
  }

  addRawPart(root, ['Content-Description: Delivery report', 'Content-Type: message/delivery-status'], deliveryStatus(style, copy, input.reply, status, backend) + '\r\n');
  addRawPart(root, ['Content-Description: Undelivered Message Headers', 'Content-Type: text/rfc822-headers'], Buffer.from(copy.headers + '\r\n', 'latin1'));
  return root.build();
}

const STYLES: Record<DsnStyle, { from(c: AcceptedCopy): string | { prepared: true; value: string }; subject(c: AcceptedCopy): string }> = {
  postfix: {
    // Postfix writes the display name as a comment; `prepared` keeps it as written.
    from: (c) => ({ prepared: true, value: `MAILER-DAEMON@${c.mxHost} (Mail Delivery System)` }),
    subject: () => 'Undelivered Mail Returned to Sender',
  },
  exim: {
    from: (c) => `Mail Delivery System <Mailer-Daemon@${c.mxHost}>`,
    subject: () => 'Mail delivery failed: returning message to sender',
  },
  exchange: {
    from: (c) => `Microsoft Outlook <postmaster@${domainOf(c.recipient)}>`,
    subject: (c) => `Undeliverable: ${c.subject ?? ''}`.trimEnd(),
  },
};

/** The machine-readable part: per-message fields, a blank line, per-recipient fields. */
function deliveryStatus(style: DsnStyle, c: AcceptedCopy, reply: string, status: string, backend: string): string {
  const arrival = rfcDate(c.receivedAt);
  if (style === 'postfix') {
    return fields([`Reporting-MTA: dns; ${c.mxHost}`, `X-Postfix-Queue-ID: ${c.queueId}`, `X-Postfix-Sender: rfc822; ${c.returnPath}`, `Arrival-Date: ${arrival}`]) +
      '\r\n\r\n' +
      fields([`Final-Recipient: rfc822; ${c.recipient}`, `Original-Recipient: rfc822;${c.recipient}`, 'Action: failed', `Status: ${status}`, `Remote-MTA: dns; ${backend}`, `Diagnostic-Code: smtp; ${reply}`]);
  }
  if (style === 'exim') {
    return fields([`Reporting-MTA: dns; ${c.mxHost}`]) +
      '\r\n\r\n' +
      fields(['Action: failed', `Final-Recipient: rfc822;${c.recipient}`, `Status: ${status}`, `Remote-MTA: dns; ${backend}`, `Diagnostic-Code: smtp; ${reply}`]);
  }
  return fields([`Reporting-MTA: dns;${c.mxHost}`, `Received-From-MTA: dns;${c.heloName}`, `Arrival-Date: ${arrival}`]) +
    '\r\n\r\n' +
    fields([`Final-Recipient: rfc822;${c.recipient}`, 'Action: failed', `Status: ${status}`, `Diagnostic-Code: smtp;${reply}`]);
}

function postfixText(c: AcceptedCopy, reply: string, backend: string): string {
  return [
    `This is the mail system at host ${c.mxHost}.`,
    '',
    "I'm sorry to have to inform you that your message could not",
    "be delivered to one or more recipients. It's attached below.",
    '',
    'For further assistance, please send mail to postmaster.',
    '',
    'If you do so, please include this problem report. You can',
    'delete your own text from the attached returned message.',
    '',
    '                   The mail system',
    '',
    foldField(`<${c.recipient}>: host ${backend}[10.20.0.7] said: ${reply} (in reply to RCPT TO command)`),
    '',
  ].join('\r\n');
}

function eximText(c: AcceptedCopy, reply: string, backend: string): string {
  return [
    'This message was created automatically by mail delivery software.',
    '',
    'A message that you sent could not be delivered to one or more of its',
    'recipients. This is a permanent error. The following address(es) failed:',
    '',
    `  ${c.recipient}`,
    `    host ${backend} [10.20.0.7]`,
    `    SMTP error from remote mail server after RCPT TO:<${c.recipient}>:`,
    foldField(`    ${reply}`, '      '),
    '',
  ].join('\r\n');
}

function exchangeText(c: AcceptedCopy, reply: string, html: boolean): string {
  const lines = [
    'Delivery has failed to these recipients or groups:',
    '',
    c.recipient,
    "The email address you entered couldn't be found. Please check the recipient's email address and try to resend the message. If the problem continues, please contact your email admin.",
    '',
    'Diagnostic information for administrators:',
    '',
    `Generating server: ${c.mxHost}`,
    '',
    c.recipient,
    `Remote Server returned '${reply}'`,
    '',
    'Original message headers:',
    '',
    ...c.headers.split(/\r?\n/),
    '',
  ];
  if (!html) return lines.join('\r\n');
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<html><body><pre>${lines.map(esc).join('\r\n')}</pre></body></html>\r\n`;
}
