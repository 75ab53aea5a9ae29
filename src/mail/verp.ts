/**
 * Signed tokens that identify one delivery log inside an address or a URL: the VERP return
 * path (bounce+<id>-<sig>@<bounce domain>), the X-Estafeta-Log header and unsubscribe links.
 * The signature (a keyed hash of the id) means a forged bounce or a guessed link cannot
 * touch another recipient's log.
 */
import { shortHmac } from '../lib/ids.ts';

const PREFIX = 'bounce';

// A message asks for its log's token three times (its header, its return path, its
// unsubscribe address); the last one is kept rather than signed again.
let last = { secret: '', logId: -1, token: '' };

export function logToken(secret: string, logId: number): string {
  if (last.logId !== logId || last.secret !== secret) last = { secret, logId, token: `${logId.toString(36)}-${shortHmac(secret, `log:${logId}`, 10)}` };
  return last.token;
}

/** The log id a token names, or null when the token is malformed or its signature is wrong. */
export function readLogToken(secret: string, token: string): number | null {
  const m = /^([0-9a-z]{1,13})-([0-9a-z]{10})$/i.exec(token.trim());
  if (!m) return null;
  const id = parseInt(m[1].toLowerCase(), 36);
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  return shortHmac(secret, `log:${id}`, 10) === m[2].toLowerCase() ? id : null;
}

export function verpAddress(secret: string, logId: number, bounceDomain: string): string {
  return `${PREFIX}+${logToken(secret, logId)}@${bounceDomain}`;
}

/** Reads a VERP return path back: the log id, or null when the address is not one of ours. */
export function readVerpAddress(secret: string, address: string, bounceDomain?: string): number | null {
  const at = address.lastIndexOf('@');
  if (at < 0) return null;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1).toLowerCase();
  if (bounceDomain && domain !== bounceDomain.toLowerCase()) return null;
  const m = new RegExp(`^${PREFIX}\\+(.+)$`, 'i').exec(local);
  return m ? readLogToken(secret, m[1]) : null;
}

/** A Message-ID that is unique per log and instance and says where it came from. */
export function messageIdFor(secret: string, deliveryId: number, logId: number, domain: string): string {
  return `<${deliveryId}.${logId.toString(36)}.${shortHmac(secret, `mid:${logId}`, 8)}@${domain}>`;
}

/** The log id in one of our Message-IDs, or null when it is not ours (or forged). */
export function readMessageId(secret: string, messageId: string): number | null {
  const m = /^<?(\d+)\.([0-9a-z]{1,13})\.([0-9a-z]{8})@[^>]+>?$/i.exec(messageId.trim());
  if (!m) return null;
  const logId = parseInt(m[2].toLowerCase(), 36);
  if (!Number.isSafeInteger(logId) || logId <= 0) return null;
  return shortHmac(secret, `mid:${logId}`, 8) === m[3].toLowerCase() ? logId : null;
}

/** The address a mailto: List-Unsubscribe points at, and reading it back. */
export function unsubscribeAddress(secret: string, logId: number, bounceDomain: string): string {
  return `unsubscribe+${logToken(secret, logId)}@${bounceDomain}`;
}

export function readUnsubscribeAddress(secret: string, address: string): number | null {
  const m = /^unsubscribe\+(.+)@[^@]+$/i.exec(address.trim());
  return m ? readLogToken(secret, m[1]) : null;
}
