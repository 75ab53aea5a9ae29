/**
 * Secrets kept in the database, sealed with the instance's secret: AES-256-GCM under a key
 * derived from it (HKDF-SHA256, one key per purpose), with the row's identity as associated
 * data so that a sealed value copied to another row does not open there. Used for DKIM
 * private keys: a database dump or backup alone does not give them away, as long as the
 * secret is configured outside the database (ESTAFETA_SECRET or the configuration file; an
 * instance without one keeps its generated secret in the database, which protects nothing).
 * A value not sealed (written before sealing existed) opens as it is.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const PREFIX = 'sealed:v1:';

function keyFor(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'estafeta-sealed', purpose, 32));
}

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** `sealed:v1:<iv>:<tag>:<ciphertext>`, base64 each. */
export function seal(secret: string, purpose: string, context: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(secret, purpose), iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${PREFIX}${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${data.toString('base64')}`;
}

/** The plaintext, or null when the secret (or the context) is not the one it was sealed with. */
export function open(secret: string, purpose: string, context: string, stored: string): string | null {
  if (!isSealed(stored)) return stored;
  const [iv, tag, data] = stored.slice(PREFIX.length).split(':');
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFor(secret, purpose), Buffer.from(iv, 'base64'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
