/**
 * Ties an inbound mail to the delivery log it is about. The VERP return path it was sent to
 * is the surest key (signed); when a provider sends to a role mailbox instead (feedback
 * loops) the returned original's X-Estafeta-Log header or our Message-ID (both signed) are
 * used. Then the bounce's recipient that concerns that log is chosen.
 */
import type { BounceRecipient, ParsedBounce } from '../mail/bounce-mail.ts';
import { readLogToken, readMessageId } from '../mail/verp.ts';
import type { InboundTarget } from './recipients.ts';

export function correlateLogId(secret: string, targets: InboundTarget[], parsed: ParsedBounce): { logId: number; by: string } | null {
  const verp = targets.find((t) => t.kind === 'bounce');
  if (verp && verp.kind === 'bounce') return { logId: verp.logId, by: 'verp' };
  const header = parsed.originalHeaders['x-estafeta-log'];
  if (header) {
    const logId = readLogToken(secret, header);
    if (logId !== null) return { logId, by: 'x-estafeta-log' };
  }
  if (parsed.originalMessageId) {
    const logId = readMessageId(secret, parsed.originalMessageId);
    if (logId !== null) return { logId, by: 'message-id' };
  }
  return null;
}

/** The recipient entry about `address`, else the first failure, else the first entry. */
export function pickRecipient(parsed: ParsedBounce, address: string | null): BounceRecipient | null {
  const list = parsed.recipients;
  if (!list.length) return null;
  const lower = address?.toLowerCase();
  return (
    list.find((r) => lower && (r.recipient?.toLowerCase() === lower || r.originalRecipient?.toLowerCase() === lower)) ??
    list.find((r) => r.action === 'failed') ??
    list[0]
  );
}
