/**
 * Which addresses the bounce listener accepts mail for: VERP return paths with a valid
 * signature (bounce+<token>@<bounce domain>), one-click mailto unsubscribe addresses
 * (unsubscribe+<token>@...), and a few role mailboxes of the bounce domain where providers
 * send feedback-loop reports (postmaster, abuse, fbl). Anything else is refused: the listener
 * is not an open relay and a forged token cannot reach anybody's log.
 */
import { readUnsubscribeAddress, readVerpAddress } from '../mail/verp.ts';

export type InboundTarget =
  | { kind: 'bounce'; logId: number }
  | { kind: 'unsubscribe'; logId: number }
  | { kind: 'mailbox'; name: string };

export const ROLE_MAILBOXES = ['postmaster', 'abuse', 'fbl', 'bounces'];

export function readInboundAddress(secret: string, bounceDomain: string, address: string): InboundTarget | null {
  const at = address.lastIndexOf('@');
  if (at < 0 || address.slice(at + 1).toLowerCase() !== bounceDomain.toLowerCase()) return null;
  const local = address.slice(0, at).toLowerCase();
  if (local.startsWith('bounce+')) {
    const logId = readVerpAddress(secret, address, bounceDomain);
    return logId === null ? null : { kind: 'bounce', logId };
  }
  if (local.startsWith('unsubscribe+')) {
    const logId = readUnsubscribeAddress(secret, address);
    return logId === null ? null : { kind: 'unsubscribe', logId };
  }
  return ROLE_MAILBOXES.includes(local) ? { kind: 'mailbox', name: local } : null;
}
