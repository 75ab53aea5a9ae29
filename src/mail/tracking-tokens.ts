/**
 * Signed tokens of the tracking URLs: the open pixel names a delivery and a log, a tracked
 * link names a delivery, a log and a link of that delivery and, for a personalized link, the
 * URL itself. The signature covers every part, so an altered token names nothing: it cannot
 * record an event on another log, and it never redirects anywhere (no open redirect).
 * Pure: reading a token does not say whether its log still exists.
 */
import { shortHmac } from '../lib/ids.ts';

export interface OpenToken {
  deliveryId: number;
  logId: number;
}

export interface ClickToken extends OpenToken {
  linkId: number;
  /** The recipient's own URL, for a link whose URL is personalized; null otherwise. */
  url: string | null;
}

const b36 = (n: number) => n.toString(36);
const SIG = 12;
// A URL carried in a token is at most this long: longer personalized links are not tracked.
export const MAX_CARRIED_URL = 2000;
/** The longest token read: a carried URL in base64url and the ids around it. HTTP servers must let a path parameter be this long. */
export const MAX_TOKEN_LENGTH = MAX_CARRIED_URL * 2;

function readId(s: string): number | null {
  if (!/^[0-9a-z]{1,11}$/.test(s)) return null;
  const n = parseInt(s, 36);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

export function openToken(secret: string, deliveryId: number, logId: number): string {
  return `${b36(deliveryId)}.${b36(logId)}.${shortHmac(secret, `open:${deliveryId}:${logId}`, SIG)}`;
}

export function readOpenToken(secret: string, token: string): OpenToken | null {
  const m = /^([0-9a-z]+)\.([0-9a-z]+)\.([0-9a-z]+)$/.exec(token.toLowerCase());
  if (!m) return null;
  const deliveryId = readId(m[1]);
  const logId = readId(m[2]);
  if (deliveryId === null || logId === null) return null;
  return shortHmac(secret, `open:${deliveryId}:${logId}`, SIG) === m[3] ? { deliveryId, logId } : null;
}

/** The token of a link; `url` only for a personalized link (it then travels in the token). */
export function clickToken(secret: string, deliveryId: number, logId: number, linkId: number, url: string | null = null): string {
  const head = `${b36(deliveryId)}.${b36(logId)}.${b36(linkId)}`;
  if (url === null) return `${head}.${shortHmac(secret, `click:${deliveryId}:${logId}:${linkId}`, SIG)}`;
  const carried = Buffer.from(url, 'utf8').toString('base64url');
  return `${head}.${shortHmac(secret, `click:${deliveryId}:${logId}:${linkId}:${url}`, SIG)}.${carried}`;
}

export function readClickToken(secret: string, token: string): ClickToken | null {
  if (token.length > MAX_TOKEN_LENGTH) return null;
  const m = /^([0-9a-zA-Z]+)\.([0-9a-zA-Z]+)\.([0-9a-zA-Z]+)\.([0-9a-zA-Z]+)(?:\.([A-Za-z0-9_-]+))?$/.exec(token);
  if (!m) return null;
  const [deliveryId, logId, linkId] = [readId(m[1].toLowerCase()), readId(m[2].toLowerCase()), readId(m[3].toLowerCase())];
  if (deliveryId === null || logId === null || linkId === null) return null;
  const sig = m[4].toLowerCase();
  if (m[5] === undefined) return shortHmac(secret, `click:${deliveryId}:${logId}:${linkId}`, SIG) === sig ? { deliveryId, logId, linkId, url: null } : null;
  const url = Buffer.from(m[5], 'base64url').toString('utf8');
  if (!isHttpUrl(url)) return null;
  return shortHmac(secret, `click:${deliveryId}:${logId}:${linkId}:${url}`, SIG) === sig ? { deliveryId, logId, linkId, url } : null;
}

/** Only http(s) URLs are tracked, and only to them does a tracked link redirect. */
export function isHttpUrl(url: string): boolean {
  if (url.length > MAX_CARRIED_URL || /[\x00-\x20\x7f]/.test(url)) return false;
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}
