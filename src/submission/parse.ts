/**
 * A submitted message's raw MIME read into the send API's MessageInput: From, Reply-To,
 * Subject, HTML and text from the message; the recipients from the SMTP envelope (RCPT TO),
 * each put in To or Cc when the message's header names it and in Bcc otherwise, so the
 * headers say what the application wrote and nobody is added or left out; the other headers
 * kept when mail/extra-headers.ts allows them (Message-ID, Date, Received, DKIM-Signature and
 * the like are Estafeta's, and left out); X-Estafeta-Stream, X-Estafeta-Tag and
 * X-Estafeta-Meta-* read as the stream, tags and metadata, and never sent on. Attachments
 * (a receipt's PDF, an inline logo with its Content-ID) become the send API's attachments,
 * within its bounds (streams/limits.ts) as well as submission's maxSize; they were refused
 * while MessageInput had none.
 */
import PostalMime, { type Address } from 'postal-mime';
import * as mimeFuncs from 'nodemailer/lib/mime-funcs';
import { extraHeaderProblem, MAX_EXTRA_HEADERS } from '../mail/extra-headers.ts';
import { SEND_LIMITS } from '../streams/index.ts';
import type { MessageInput } from '../streams/index.ts';

export type ParsedSubmission =
  | { ok: true; input: Omit<MessageInput, 'stream'>; stream: string | null }
  | { ok: false; code: number; message: string };

const mailboxes = (list: Address[] | undefined) => (list ?? []).flatMap((a) => (a.group ? a.group : [a])).map((m) => m.address.toLowerCase());

export async function parseSubmission(raw: Buffer, envelope: string[]): Promise<ParsedSubmission> {
  let mail;
  try {
    mail = await PostalMime.parse(raw, { maxNestingDepth: 50, maxHeadersSize: 256 * 1024, attachmentEncoding: 'base64' });
  } catch (err) {
    return { ok: false, code: 554, message: `5.6.0 the message could not be read as MIME: ${(err as Error).message}` };
  }
  if (mail.attachments.length > SEND_LIMITS.attachments) return { ok: false, code: 554, message: `5.6.0 at most ${SEND_LIMITS.attachments} attachments per message (${mail.attachments.length} found)` };
  const attachments = mail.attachments.map((a, i) => ({
    filename: (a.filename ?? `attachment-${i + 1}.${mimeFuncs.detectExtension(a.mimeType) || 'bin'}`).replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 255),
    content: String(a.content),
    contentType: a.mimeType,
    ...(a.contentId && a.disposition !== 'attachment' ? { cid: a.contentId.replace(/^<|>$/g, '') } : {}),
  }));
  const from = mail.from && !mail.from.group ? mail.from : mail.from?.group?.[0];
  if (!from?.address) return { ok: false, code: 554, message: '5.6.0 the message has no From address' };

  let stream: string | null = null;
  const tags: string[] = [];
  const metadata: Record<string, string> = {};
  const headers: Record<string, string> = {};
  const seen = new Set<string>();
  for (const h of mail.headers) {
    if (h.key === 'x-estafeta-stream') stream ??= h.value.trim();
    else if (h.key === 'x-estafeta-tag') tags.push(...h.value.split(',').map((t) => t.trim()).filter(Boolean));
    else if (h.key.startsWith('x-estafeta-meta-')) metadata[h.key.slice('x-estafeta-meta-'.length)] = h.value.trim();
    else if (!seen.has(h.key) && Object.keys(headers).length < MAX_EXTRA_HEADERS && !extraHeaderProblem(h.originalKey, h.value)) headers[h.originalKey] = h.value;
    seen.add(h.key);
  }
  if (tags.length > SEND_LIMITS.tags) return { ok: false, code: 554, message: `5.6.0 X-Estafeta-Tag: at most ${SEND_LIMITS.tags} tags (${tags.length} given)` };

  const inTo = new Set(mailboxes(mail.to));
  const inCc = new Set(mailboxes(mail.cc));
  const to: string[] = [];
  const cc: string[] = [];
  const bcc: string[] = [];
  for (const r of envelope) (inTo.has(r.toLowerCase()) ? to : inCc.has(r.toLowerCase()) ? cc : bcc).push(r);
  const replyTo = mailboxes(mail.replyTo)[0];
  return {
    ok: true,
    stream,
    input: {
      from: from.name ? { name: from.name.slice(0, 200), address: from.address } : from.address,
      to,
      cc,
      bcc,
      ...(replyTo ? { replyTo } : {}),
      subject: (mail.subject ?? '').slice(0, 998),
      ...(mail.html ? { html: mail.html } : {}),
      ...(mail.text ? { text: mail.text } : {}),
      headers,
      ...(attachments.length ? { attachments } : {}),
      ...(tags.length ? { tags } : {}),
      ...(Object.keys(metadata).length ? { metadata } : {}),
    },
  };
}
