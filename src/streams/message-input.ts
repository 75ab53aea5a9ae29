/**
 * What a message sent through the API is made of, checked before anything is written:
 * the stream (id or name), From in one of the stream's domains, recipients (To, Cc, Bcc:
 * one delivery log each), Reply-To, Subject, HTML and/or text, attachments (base64, with a
 * Content-ID for an inline image), extra headers (the rules of mail/extra-headers.ts: no
 * header that adds a recipient or a line), tags and metadata. Or, instead of the fields,
 * `raw`: a whole MIME message (raw.ts reads it). Or `template` and `data`: a stored template
 * rendered before the message reaches here (templates.ts), so this file never sees one.
 */
import { z } from 'zod';
import { checkAddress } from '../mail/address.ts';
import { extraHeadersProblems } from '../mail/extra-headers.ts';
import { SEND_LIMITS } from './limits.ts';
import { checkAttachments, type CheckedAttachment } from './attachments.ts';
import { readRaw, type RawMessage } from './raw.ts';

const address = z.string().max(320);
const nameAndAddress = z.union([address, z.object({ name: z.string().max(200).optional(), address })]);

export const attachmentSchema = z.object({
  filename: z.string().min(1).max(255),
  content: z.string().describe('the bytes, base64'),
  contentType: z.string().max(255).optional().describe('e.g. application/pdf; from the file name when absent'),
  cid: z.string().max(200).optional().describe('a Content-ID: the attachment is an inline image the HTML shows as <img src="cid:...">'),
});

export const messageSchema = z.object({
  stream: z.union([z.string().min(1).max(200), z.number().int().positive()]).describe('the stream: its id or its name'),
  from: nameAndAddress.optional().describe('"address" or {name, address}; its domain must be one of the stream\'s. Required but with raw (whose From header counts)'),
  to: z.array(address).max(SEND_LIMITS.recipientsPerMessage).default([]),
  cc: z.array(address).max(SEND_LIMITS.recipientsPerMessage).default([]),
  bcc: z.array(address).max(SEND_LIMITS.recipientsPerMessage).default([]),
  replyTo: address.optional(),
  subject: z.string().max(998).optional().describe('required but with template or raw'),
  html: z.string().optional(),
  text: z.string().optional(),
  attachments: z.array(attachmentSchema).max(SEND_LIMITS.attachments).optional().describe(`at most ${SEND_LIMITS.attachments}, ${SEND_LIMITS.attachmentBytes / 1024 / 1024} MiB decoded together`),
  headers: z.record(z.string(), z.string()).optional(),
  tags: z.array(z.string().max(100)).max(SEND_LIMITS.tags).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  template: z.union([z.string().min(1).max(200), z.number().int().positive()]).optional().describe('a stored template (id or name) instead of subject, html and text'),
  data: z.record(z.string(), z.unknown()).optional().describe("the template's personalization fields; a field the template needs and data lacks is a 422 naming it"),
  raw: z.string().optional().describe(`the whole MIME message instead of the fields, as text or base64 (at most ${SEND_LIMITS.rawBytes / 1024 / 1024} MiB); recipients from to/cc/bcc, or its To, Cc and Bcc headers when none is given; X-Estafeta-Tag and X-Estafeta-Meta-* headers read as tags and metadata and removed`),
});
export type MessageInput = z.infer<typeof messageSchema>;

/** A message checked: addresses normalized, one entry per recipient (duplicates once). */
export interface CheckedMessage {
  input: MessageInput;
  from: { name: string | null; address: string; domain: string };
  recipients: { address: string; domain: string }[];
  /** Decoded, their MIME parts encoded once for every recipient. */
  attachments: CheckedAttachment[];
  /** For a raw message: its bytes, ready to go out but for Estafeta's headers. */
  raw: RawMessage | null;
}

type Checked = { ok: true; message: CheckedMessage } | { ok: false; problem: string };

/** The message's problems in plain words, or the checked message. */
export function checkMessage(m: MessageInput): Checked {
  if (m.template !== undefined) return { ok: false, problem: 'template: the template was not rendered (a bug: the route renders templates before sending)' };
  if (m.raw !== undefined) return checkRawMessage(m);
  if (m.from === undefined) return { ok: false, problem: 'from: required' };
  if (m.subject === undefined) return { ok: false, problem: 'subject: required (or give template, or raw)' };
  const fromRaw = typeof m.from === 'string' ? { address: m.from } : m.from;
  const from = checkAddress(fromRaw.address);
  if (!from.ok) return { ok: false, problem: `from: ${from.detail}` };
  if (m.replyTo && !checkAddress(m.replyTo).ok) return { ok: false, problem: `replyTo: "${m.replyTo}" is not a valid email address` };
  if (!m.html?.length && !m.text?.length) return { ok: false, problem: 'give html, text, or both' };
  const size = m.subject.length + (m.html?.length ?? 0) + (m.text?.length ?? 0) + JSON.stringify(m.headers ?? {}).length;
  if (size > SEND_LIMITS.messageChars) return { ok: false, problem: `the message has ${size} characters; the limit is ${SEND_LIMITS.messageChars}` };
  const common = checkCommon(m);
  if (common) return { ok: false, problem: common };
  const headerProblems = extraHeadersProblems(m.headers ?? {});
  if (headerProblems.length) return { ok: false, problem: `headers: ${headerProblems.join('; ')}` };
  const attachments = checkAttachments(m.attachments ?? []);
  if (!attachments.ok) return { ok: false, problem: attachments.problem };
  const recipients = checkRecipients([...m.to, ...m.cc, ...m.bcc]);
  if (!recipients.ok) return recipients;
  const name = (typeof m.from === 'string' ? null : m.from.name) ?? null;
  return { ok: true, message: { input: m, from: { name, address: from.address, domain: from.domain }, recipients: recipients.list, attachments: attachments.list, raw: null } };
}

function checkRawMessage(m: MessageInput): Checked {
  const given = (['from', 'subject', 'html', 'text', 'attachments', 'headers', 'replyTo'] as const).filter((k) => m[k] !== undefined);
  if (given.length) return { ok: false, problem: `raw: the message is the raw MIME; leave out ${given.join(', ')} (they are in the message itself)` };
  const raw = readRaw(m.raw!);
  if (!raw.ok) return { ok: false, problem: `raw: ${raw.problem}` };
  const r = raw.message;
  // Tags and metadata of the call and of the message's X-Estafeta-* headers, the call's first.
  const input: MessageInput = { ...m, tags: [...(m.tags ?? []), ...r.tags], metadata: { ...r.metadata, ...m.metadata } };
  const common = checkCommon(input);
  if (common) return { ok: false, problem: common };
  const listed = m.to.length + m.cc.length + m.bcc.length ? [...m.to, ...m.cc, ...m.bcc] : r.recipients;
  const recipients = checkRecipients(listed);
  if (!recipients.ok) return { ok: false, problem: m.to.length + m.cc.length + m.bcc.length ? recipients.problem : `${recipients.problem} (from the message's To, Cc and Bcc headers)` };
  return { ok: true, message: { input, from: r.from, recipients: recipients.list, attachments: [], raw: r } };
}

function checkCommon(m: MessageInput): string | null {
  if ((m.tags?.length ?? 0) > SEND_LIMITS.tags) return `tags: at most ${SEND_LIMITS.tags} (${m.tags!.length} given)`;
  if (m.metadata && JSON.stringify(m.metadata).length > SEND_LIMITS.metadataChars) return `metadata: at most ${SEND_LIMITS.metadataChars} characters of JSON`;
  return null;
}

function checkRecipients(all: string[]): { ok: true; list: CheckedMessage['recipients'] } | { ok: false; problem: string } {
  if (!all.length) return { ok: false, problem: 'no recipient: give to, cc or bcc' };
  if (all.length > SEND_LIMITS.recipientsPerMessage) return { ok: false, problem: `${all.length} recipients; the limit is ${SEND_LIMITS.recipientsPerMessage} per message` };
  const seen = new Set<string>();
  const list: CheckedMessage['recipients'] = [];
  for (const raw of all) {
    const c = checkAddress(raw);
    if (!c.ok) return { ok: false, problem: `recipient "${raw.slice(0, 100)}": ${c.detail}` };
    const key = c.address.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    list.push({ address: c.address, domain: c.domain });
  }
  return { ok: true, list };
}
