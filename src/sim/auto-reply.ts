/**
 * Builds the out-of-office answer a mailbox sends back (RFC 3834: Auto-Submitted:
 * auto-replied, In-Reply-To/References to the original), in the Exchange wording
 * ("Automatic reply:") or the vacation(1) wording ("Out of Office:").
 *
 * A plain text/plain mail, not a report: a bounce processor must recognise it as an
 * auto-reply and not as a failure. Sends nothing.
 */
import MimeNode from 'nodemailer/lib/mime-node';
import type { DsnStyle } from './profiles.ts';
import { domainOf, newMessageId, type AcceptedCopy } from './report-parts.ts';

export async function buildAutoReply(copy: AcceptedCopy, style: DsnStyle, date = new Date()): Promise<Buffer> {
  const root = new MimeNode('text/plain; charset=utf-8', { hostname: domainOf(copy.recipient), newline: '\r\n' });
  const subject = copy.subject ?? '';
  const back = new Date(date.getTime() + 7 * 86_400_000).toDateString();
  root.setHeader({
    From: `<${copy.recipient}>`,
    To: `<${copy.returnPath}>`,
    Subject: `${style === 'exchange' ? 'Automatic reply' : 'Out of Office'}: ${subject}`.trimEnd(),
    Date: date,
    'Message-ID': newMessageId(domainOf(copy.recipient)),
    'Auto-Submitted': 'auto-replied',
    'X-Autoreply': 'yes',
  });
  if (style === 'exchange') root.setHeader('X-Auto-Response-Suppress', 'All');
  if (copy.messageId) {
    root.setHeader('In-Reply-To', copy.messageId);
    root.setHeader('References', copy.messageId);
  }
  root.setContent(`Hello,\r\n\r\nI am out of the office until ${back} with limited access to email.\r\nI will answer your message when I return.\r\n\r\nThis is an automatic reply.\r\n`);
  return root.build();
}
