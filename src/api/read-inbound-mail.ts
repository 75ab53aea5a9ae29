/**
 * A received bounce, complaint or auto-reply made readable for the dashboard: its top-level
 * headers in order and its parts as plain text (text parts, delivery-status and
 * feedback-report parts, returned headers; HTML turned into text). The result is text only:
 * the dashboard shows it as text, so nothing a sender put in a bounce runs or loads.
 * Does not classify anything (see src/inbound/ and src/mail/).
 */
import PostalMime from 'postal-mime';
import { htmlToText, normalizeLineEnds } from '../mail/mime-input.ts';

const MAX_HEADERS = 200;
const MAX_PART = 32 * 1024;
const TEXT_TYPES = /^(text\/|message\/(delivery-status|feedback-report|disposition-notification|rfc822-headers|rfc822|global))/i;

export interface InboundMailView {
  subject: string;
  headers: { name: string; value: string }[];
  parts: { type: string; text: string; truncated: boolean }[];
}

const part = (type: string, text: string) => ({ type, text: text.length > MAX_PART ? text.slice(0, MAX_PART) : text, truncated: text.length > MAX_PART });

export async function readInboundMail(raw: Buffer): Promise<InboundMailView> {
  let mail: Awaited<ReturnType<typeof PostalMime.parse>>;
  try {
    mail = await PostalMime.parse(normalizeLineEnds(raw), { attachmentEncoding: 'utf8' });
  } catch {
    // Not MIME at all: the bytes as text are still what the operator wants to read.
    return { subject: '', headers: [], parts: [part('text/plain', raw.toString('utf8'))] };
  }
  const parts: InboundMailView['parts'] = [];
  if (mail.text) parts.push(part('text/plain', mail.text));
  else if (mail.html) parts.push(part('text/html (shown as text)', htmlToText(mail.html)));
  for (const a of mail.attachments) {
    if (!TEXT_TYPES.test(a.mimeType)) {
      parts.push(part(a.mimeType, `(${a.filename ?? 'attachment'}: not text, not shown)`));
      continue;
    }
    const text = typeof a.content === 'string' ? a.content : Buffer.from(a.content as ArrayBuffer).toString('utf8');
    parts.push(part(a.mimeType, /^text\/html/i.test(a.mimeType) ? htmlToText(text) : text));
  }
  return {
    subject: mail.subject ?? '',
    headers: mail.headers.slice(0, MAX_HEADERS).map((h) => ({ name: h.originalKey ?? h.key, value: h.value })),
    parts,
  };
}
