/**
 * Hashing of secrets. Passwords use scrypt (node:crypto) with a per-password salt, because
 * people pick guessable passwords; API keys and session tokens are 32 random bytes, so a
 * plain SHA-256 is enough and lets a request find its key with one indexed lookup.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { sha256Hex } from '../lib/ids.ts';

const PARAMS = { N: 16384, r: 8, p: 1 };
const KEY_LENGTH = 64;

function scryptAsync(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  // Async so a sign-in never blocks the event loop the MTA shares.
  return new Promise((resolve, reject) => scrypt(password, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$N$r$p$salt$hash`: the parameters travel with the hash so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash to compare against when the user does not exist, so timing does not tell. */
export const DUMMY_PASSWORD_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$' + Buffer.alloc(KEY_LENGTH).toString('base64');

/** API keys start with "est_" so they are recognisable in a config file or a leak scanner. */
export function newApiKey(): string {
  return `est_${randomBytes(32).toString('base64url')}`;
}

export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function newPassword(): string {
  return randomBytes(15).toString('base64url');
}

export const tokenHash = (token: string) => sha256Hex(token);
