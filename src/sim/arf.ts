/**
 * Builds the complaint report a provider's feedback loop sends when a recipient marks a
 * message as spam: ARF (RFC 5965), multipart/report; report-type=feedback-report with
 * Feedback-Type: abuse and the original message attached as message/rfc822.
 *
 * When the simulator did not keep the body, the attached message is the original header
 * block with an empty body, which is what redacting feedback loops send too. Sends nothing.
 */
import { addRawPart, domainOf, fields, newMessageId, reportRoot, rfcDate, type AcceptedCopy } from './report-parts.ts';

export async function buildArf(copy: AcceptedCopy, date = new Date()): Promise<Buffer> {
  const fblHost = `fbl.${copy.providerDomain}`;
  const root = reportRoot('feedback-report', fblHost);
  const providerName = copy.provider.charAt(0).toUpperCase() + copy.provider.slice(1);
  root.setHeader({
    From: `${providerName} Feedback Loop <feedback@${fblHost}>`,
    To: `<${copy.returnPath}>`,
    Subject: `FW: ${copy.subject ?? 'complaint about a message'}`,
    Date: date,
    'Message-ID': newMessageId(fblHost),
    'Auto-Submitted': 'auto-generated',
  });
  addRawPart(
    root,
    ['Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit'],
    [
      `This is an email abuse report for an email message received from IP ${copy.sendingIp} on ${rfcDate(copy.receivedAt)}.`,
      'A user of this mailbox provider marked the message as spam.',
      'For more information about this format please see https://www.rfc-editor.org/rfc/rfc5965.',
      '',
    ].join('\r\n'),
  );
  const fromDomain = /@([^>\s]+)/.exec(copy.fromHeader ?? '')?.[1] ?? domainOf(copy.returnPath);
  const report = [
    'Feedback-Type: abuse',
    `User-Agent: ${providerName}-FBL/1.0`,
    'Version: 1',
    `Original-Mail-From: <${copy.returnPath}>`,
    `Original-Rcpt-To: <${copy.recipient}>`,
    `Arrival-Date: ${rfcDate(copy.receivedAt)}`,
    `Reporting-MTA: dns; ${copy.mxHost}`,
    `Source-IP: ${copy.sendingIp}`,
    `Reported-Domain: ${fromDomain}`,
  ];
  addRawPart(root, ['Content-Type: message/feedback-report'], fields(report) + '\r\n');
  const original = copy.raw ?? Buffer.from(`${copy.headers}\r\n\r\n`, 'latin1');
  addRawPart(root, ['Content-Type: message/rfc822', 'Content-Disposition: inline'], original);
  return root.build();
}
