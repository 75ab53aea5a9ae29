/**
 * What a message sent through the API is made of, checked before anything is written:
 * the stream (id or name), From in one of the stream's domains, recipients (To, Cc, Bcc:
 * one delivery log each), Reply-To, Subject, HTML and/or text, extra headers (the rules of
 * mail/extra-headers.ts: no header that adds a recipient or a line), tags and metadata.
 * Raw MIME and stored templates are not taken yet.
 */
import { z } from 'zod';
import { checkAddress } from '../mail/address.ts';
import { extraHeadersProblems } from '../mail/extra-headers.ts';
import { SEND_LIMITS } from './limits.ts';

const address = z.string().max(320);
const nameAndAddress = z.union([address, z.object({ name: z.string().max(200).optional(), address })]);

export const messageSchema = z.object({
  stream: z.union([z.string().min(1).max(200), z.number().int().positive()]).describe('the stream: its id or its name'),
  from: nameAndAddress.describe('"address" or {name, address}; its domain must be one of the stream\'s'),
  to: z.array(address).max(SEND_LIMITS.recipientsPerMessage).default([]),
  cc: z.array(address).max(SEND_LIMITS.recipientsPerMessage).default([]),
  bcc: z.array(address).max(SEND_LIMITS.recipientsPerMessage).default([]),
  replyTo: address.optional(),
  subject: z.string().max(998),
  html: z.string().optional(),
  text: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  tags: z.array(z.string().max(100)).max(SEND_LIMITS.tags).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type MessageInput = z.infer<typeof messageSchema>;

/** A message checked: addresses normalized, one entry per recipient (duplicates once). */
export interface CheckedMessage {
  input: MessageInput;
  from: { name: string | null; address: string; domain: string };
  recipients: { address: string; domain: string }[];
}

/** The message's problems in plain words, or the checked message. */
export function checkMessage(m: MessageInput): { ok: true; message: CheckedMessage } | { ok: false; problem: string } {
  const fromRaw = typeof m.from === 'string' ? { address: m.from } : m.from;
  const from = checkAddress(fromRaw.address);
  if (!from.ok) return { ok: false, problem: `from: ${from.detail}` };
  if (m.replyTo && !checkAddress(m.replyTo).ok) return { ok: false, problem: `replyTo: "${m.replyTo}" is not a valid email address` };
  if (!m.html?.length && !m.text?.length) return { ok: false, problem: 'give html, text, or both' };
  const size = m.subject.length + (m.html?.length ?? 0) + (m.text?.length ?? 0) + JSON.stringify(m.headers ?? {}).length;
  if (size > SEND_LIMITS.messageChars) return { ok: false, problem: `the message has ${size} characters; the limit is ${SEND_LIMITS.messageChars}` };
  if (m.metadata && JSON.stringify(m.metadata).length > SEND_LIMITS.metadataChars) return { ok: false, problem: `metadata: at most ${SEND_LIMITS.metadataChars} characters of JSON` };
  const headerProblems = extraHeadersProblems(m.headers ?? {});
  if (headerProblems.length) return { ok: false, problem: `headers: ${headerProblems.join('; ')}` };
  const all = [...m.to, ...m.cc, ...m.bcc];
  if (!all.length) return { ok: false, problem: 'no recipient: give to, cc or bcc' };
  if (all.length > SEND_LIMITS.recipientsPerMessage) return { ok: false, problem: `${all.length} recipients; the limit is ${SEND_LIMITS.recipientsPerMessage} per message` };
  const seen = new Set<string>();
  const recipients: CheckedMessage['recipients'] = [];
  for (const raw of all) {
    const c = checkAddress(raw);
    if (!c.ok) return { ok: false, problem: `recipient "${raw.slice(0, 100)}": ${c.detail}` };
    const key = c.address.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    recipients.push({ address: c.address, domain: c.domain });
  }
  return { ok: true, message: { input: m, from: { name: (typeof m.from === 'string' ? null : m.from.name) ?? null, address: from.address, domain: from.domain }, recipients } };
}
