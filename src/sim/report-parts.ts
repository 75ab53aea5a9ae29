/**
 * Shared pieces of the mails the simulator writes back (DSN, ARF, auto-reply): what is
 * known about the accepted message, RFC 5322 dates, folding of long report fields, and
 * raw MIME parts built byte for byte as an MTA writes them.
 *
 * No I/O and no policy: which mail is written for which fate is decided in `index.ts`.
 */
import { randomBytes } from 'node:crypto';
import MimeNode from 'nodemailer/lib/mime-node';

/** What a simulated provider remembers of a message it accepted, for one recipient. */
export interface AcceptedCopy {
  /** The provider's queue id for the message. */
  queueId: string;
  provider: string;
  /** A domain of the provider, used in report addresses (postmaster@, fbl@). */
  providerDomain: string;
  /** The MX host that accepted it: the Reporting-MTA. */
  mxHost: string;
  sendingIp: string;
  heloName: string;
  /** SMTP MAIL FROM of the message: where the report goes. Never empty (no bounce to <>). */
  returnPath: string;
  recipient: string;
  receivedAt: Date;
  /** Header block of the message as received. */
  headers: string;
  /** The whole message when it was kept (complaints carry it), else null. */
  raw: Buffer | null;
  messageId: string | null;
  subject: string | null;
  fromHeader: string | null;
}

/** RFC 5322 date in UTC with a numeric zone, as MTAs write it. */
export function rfcDate(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/** A new Message-ID at `host`. */
export function newMessageId(host: string): string {
  return `<${Date.now().toString(36)}.${randomBytes(6).toString('hex')}@${host}>`;
}

/** Folds a "Field: value" line at spaces before 78 columns, continuation lines indented. */
export function foldField(line: string, indent = '    '): string {
  if (line.length <= 78) return line;
  const out: string[] = [];
  let rest = line;
  while (rest.length > 78) {
    let cut = rest.lastIndexOf(' ', 78);
    if (cut <= indent.length + 1) cut = rest.indexOf(' ', 78);
    if (cut < 0) break;
    out.push(rest.slice(0, cut));
    rest = indent + rest.slice(cut + 1);
  }
  out.push(rest);
  return out.join('\r\n');
}

/** Joins lines with CRLF, folding each one. */
export function fields(lines: string[]): string {
  return lines.map((l) => foldField(l)).join('\r\n');
}

/**
 * Adds a part whose headers and body are written exactly as given (latin1 keeps the bytes
 * of 8-bit original headers intact). MimeNode would otherwise re-encode message/* and
 * text/rfc822-headers bodies, which real MTAs send as they are.
 */
export function addRawPart(parent: MimeNode, partHeaders: string[], body: string | Buffer): void {
  const head = Buffer.from(partHeaders.join('\r\n') + '\r\n\r\n', 'latin1');
  const content = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  parent.createChild(false).setRaw(Buffer.concat([head, content]));
}

/** The root of a multipart/report; `type` is delivery-status or feedback-report. */
export function reportRoot(type: 'delivery-status' | 'feedback-report', host: string): MimeNode {
  return new MimeNode(`multipart/report; report-type=${type}`, { hostname: host, newline: '\r\n' });
}

/** The domain of an address. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}
