/**
 * Identifiers: random tokens and hashing helpers. No email knowledge.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

/** A url-safe random token, e.g. for worker ids and Message-ID local parts. */
export function randomToken(bytes = 12): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A short keyed signature (base32-ish, lower-case) for values that travel in addresses. */
export function shortHmac(secret: string, data: string, length = 8): string {
  const digest = createHmac('sha256', secret).update(data).digest();
  // base36 of the first 8 bytes keeps the token valid in an address local part and case-insensitive.
  return digest.readBigUInt64BE(0).toString(36).padStart(13, '0').slice(0, length);
}
