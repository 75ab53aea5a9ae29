/**
 * Signed tokens that identify one delivery log inside an address or a URL: the VERP return
 * path (bounce+<id>-<sig>@<bounce domain>), the X-Estafeta-Log header, unsubscribe links and
 * the Message-ID. The signature (a keyed hash of the id) means a forged bounce or a guessed
 * link cannot touch another recipient's log. Reading a token says which log it names, not
 * what a mail carrying it may change: that is inbound/evidence.ts.
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

/**
 * A Message-ID that is unique per log and instance and says where it came from:
 * <delivery id>.<log id>.<signature>@<sender domain>. The signature covers the delivery id,
 * the log id and the domain, so no part of it can be changed without breaking it. Viewers
 * read Message-IDs in the API, so a Message-ID alone is never proof that a mail is about
 * its log (inbound/evidence.ts asks for more).
 */
export function messageIdFor(secret: string, deliveryId: number, logId: number, domain: string): string {
  return `<${deliveryId}.${logId.toString(36)}.${messageIdSignature(secret, deliveryId, logId, domain)}@${domain}>`;
}

export interface MessageIdParts {
  deliveryId: number;
  logId: number;
  domain: string;
  /**
   * False for the format sent before the signature covered everything (it signed only the
   * log id): its delivery id and domain are unchecked, so it serves as evidence only.
   */
  bound: boolean;
}

const messageIdSignature = (secret: string, deliveryId: number, logId: number, domain: string) => shortHmac(secret, `mid2:${deliveryId}:${logId}:${domain.toLowerCase()}`, 8);
const legacyMessageIdSignature = (secret: string, logId: number) => shortHmac(secret, `mid:${logId}`, 8);

// RFC 5322 caps a header line at 998 characters; anything longer is not one of ours.
const MESSAGE_ID = /^<?(\d{1,15})\.([0-9a-z]{1,13})\.([0-9a-z]{8})@([^<>@\s]{1,255})>?$/i;

/** The parts of one of our Message-IDs (either format), or null when it is not ours or was altered. */
export function readMessageIdParts(secret: string, messageId: string): MessageIdParts | null {
  if (messageId.length > 998) return null;
  const m = MESSAGE_ID.exec(messageId.trim());
  if (!m) return null;
  const deliveryId = Number(m[1]);
  const logId = parseInt(m[2].toLowerCase(), 36);
  if (!Number.isSafeInteger(deliveryId) || deliveryId <= 0 || !Number.isSafeInteger(logId) || logId <= 0) return null;
  const signature = m[3].toLowerCase();
  const domain = m[4].toLowerCase();
  if (signature === messageIdSignature(secret, deliveryId, logId, domain)) return { deliveryId, logId, domain, bound: true };
  if (signature === legacyMessageIdSignature(secret, logId)) return { deliveryId, logId, domain, bound: false };
  return null;
}

/** The log id of one of our Message-IDs whose signature covers all of it; null when forged, altered or of the older format. */
export function readMessageId(secret: string, messageId: string): number | null {
  const parts = readMessageIdParts(secret, messageId);
  return parts && parts.bound ? parts.logId : null;
}

/** The address a mailto: List-Unsubscribe points at, and reading it back. */
export function unsubscribeAddress(secret: string, logId: number, bounceDomain: string): string {
  return `unsubscribe+${logToken(secret, logId)}@${bounceDomain}`;
}

export function readUnsubscribeAddress(secret: string, address: string): number | null {
  const m = /^unsubscribe\+(.+)@[^@]+$/i.exec(address.trim());
  return m ? readLogToken(secret, m[1]) : null;
}
