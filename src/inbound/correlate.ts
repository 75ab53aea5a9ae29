/**
 * Ties an inbound mail to the delivery log it names. The VERP return path it was sent to
 * is the surest key (signed, one per recipient, never shown to anybody); when a provider
 * sends to a role mailbox instead (feedback loops) the returned original's X-Estafeta-Log
 * header or our Message-ID (both signed) are used. Then the bounce's recipient that
 * concerns that log is chosen. Naming a log is not yet the right to change it: evidence.ts
 * weighs what each key is worth.
 */
import type { BounceRecipient, ParsedBounce } from '../mail/bounce-mail.ts';
import { readLogToken, readMessageIdParts, type MessageIdParts } from '../mail/verp.ts';
import type { InboundTarget } from './accepted-addresses.ts';

export type CorrelatedBy = 'verp' | 'mailto-unsubscribe' | 'x-estafeta-log' | 'message-id';

export interface Correlation {
  logId: number;
  by: CorrelatedBy;
  /** The Message-ID's parts, when it is what the mail was correlated by. */
  messageId?: MessageIdParts;
}

export function correlateLogId(secret: string, targets: InboundTarget[], parsed: ParsedBounce): Correlation | null {
  const verp = targets.find((t) => t.kind === 'bounce');
  if (verp && verp.kind === 'bounce') return { logId: verp.logId, by: 'verp' };
  const header = parsed.originalHeaders['x-estafeta-log'];
  if (header) {
    const logId = readLogToken(secret, header);
    if (logId !== null) return { logId, by: 'x-estafeta-log' };
  }
  if (parsed.originalMessageId) {
    const messageId = readMessageIdParts(secret, parsed.originalMessageId);
    if (messageId !== null) return { logId: messageId.logId, by: 'message-id', messageId };
  }
  return null;
}

/** The recipient entry about `address`, else the first failure, else the first entry. */
export function pickRecipient(parsed: ParsedBounce, address: string | null): BounceRecipient | null {
  const list = parsed.recipients;
  if (!list.length) return null;
  return list.find((r) => address !== null && isAbout(r, address)) ?? list.find((r) => r.action === 'failed') ?? list[0];
}

/** Whether a report's entry names `address` as its final or original recipient (compared lower-cased). */
export function isAbout(r: BounceRecipient, address: string): boolean {
  const lower = address.toLowerCase();
  return r.recipient?.toLowerCase() === lower || r.originalRecipient?.toLowerCase() === lower;
}
