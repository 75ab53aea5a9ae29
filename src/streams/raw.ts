/**
 * A raw MIME message given to the send API (`raw`, as text or base64), read without
 * touching its body: line ends made CRLF, the header section unfolded to find From (one
 * mailbox: its domain must be the stream's), To, Cc, Bcc (the recipients when the call names
 * none), Message-ID and Date (kept when present), X-Estafeta-Tag and X-Estafeta-Meta-*
 * (read as tags and metadata). Removed before sending: every X-Estafeta-* header (ours are
 * added per recipient), Bcc (its recipients must not see each other) and Return-Path (the
 * receiving server writes it). The rest goes out byte for byte, DKIM-signed by the MTA's
 * signer like any message. Not here: Estafeta's own headers (compose.ts).
 */
import addressparser from 'nodemailer/lib/addressparser';
import { checkAddress } from '../mail/address.ts';
import { SEND_LIMITS } from './limits.ts';

export interface RawMessage {
  from: { name: string | null; address: string; domain: string };
  /** To, Cc and Bcc addresses of the headers, in that order. */
  recipients: string[];
  messageId: string | null;
  hasDate: boolean;
  hasListUnsubscribe: boolean;
  tags: string[];
  metadata: Record<string, string>;
  /** Header section (without the headers removed) and body, CRLF, as bytes. */
  bytes: Buffer;
}

const REMOVED = (name: string) => name.startsWith('x-estafeta-') || name === 'bcc' || name === 'return-path';
/** Base64 has no ":", and a header section always has one. */
const LOOKS_BASE64 = /^[A-Za-z0-9+/=\s]+$/;

export function readRaw(given: string): { ok: true; message: RawMessage } | { ok: false; problem: string } {
  const decoded = LOOKS_BASE64.test(given.slice(0, 4096)) ? Buffer.from(given, 'base64') : Buffer.from(given, 'utf8');
  if (decoded.length > SEND_LIMITS.rawBytes) return { ok: false, problem: `the message has ${decoded.length} bytes; the limit is ${SEND_LIMITS.rawBytes}` };
  // latin1 maps every byte to one character and back: the body's bytes are not re-encoded.
  const text = decoded.toString('latin1').replace(/\r?\n/g, '\r\n');
  const end = text.indexOf('\r\n\r\n');
  const headerText = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end + 4);
  const fields: { name: string; value: string; lines: string }[] = [];
  for (const line of headerText.split('\r\n')) {
    if (/^[ \t]/.test(line) && fields.length) {
      fields[fields.length - 1].lines += `\r\n${line}`;
      fields[fields.length - 1].value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || !/^[!-9;-~]+$/.test(line.slice(0, colon).trimEnd())) return { ok: false, problem: `"${line.slice(0, 60)}" is not a header line: the message must start with its headers` };
    fields.push({ name: line.slice(0, colon).trimEnd().toLowerCase(), value: Buffer.from(line.slice(colon + 1).trim(), 'latin1').toString('utf8'), lines: line });
  }
  const one = (name: string) => fields.find((f) => f.name === name)?.value ?? null;
  const fromField = fields.filter((f) => f.name === 'from');
  if (fromField.length !== 1) return { ok: false, problem: fromField.length ? 'the message has more than one From header' : 'the message has no From header' };
  const mailboxes = addressparser(fromField[0].value, { flatten: true });
  if (mailboxes.length !== 1) return { ok: false, problem: `From must name one mailbox ("${fromField[0].value.slice(0, 100)}")` };
  const from = checkAddress(mailboxes[0].address ?? '');
  if (!from.ok) return { ok: false, problem: `From: ${from.detail}` };
  const recipients = ['to', 'cc', 'bcc'].flatMap((n) => fields.filter((f) => f.name === n).flatMap((f) => addressparser(f.value, { flatten: true }).map((a) => a.address ?? '').filter(Boolean)));
  const tags = fields.filter((f) => f.name === 'x-estafeta-tag').flatMap((f) => f.value.split(',').map((t) => t.trim()).filter(Boolean));
  const metadata: Record<string, string> = {};
  for (const f of fields) if (f.name.startsWith('x-estafeta-meta-')) metadata[f.name.slice('x-estafeta-meta-'.length)] = f.value;
  const kept = fields.filter((f) => !REMOVED(f.name)).map((f) => f.lines);
  const bytes = Buffer.from(`${kept.join('\r\n')}\r\n\r\n${body}`, 'latin1');
  return {
    ok: true,
    message: { from: { name: mailboxes[0].name || null, address: from.address, domain: from.domain }, recipients, messageId: one('message-id'), hasDate: one('date') !== null, hasListUnsubscribe: one('list-unsubscribe') !== null, tags, metadata, bytes },
  };
}
