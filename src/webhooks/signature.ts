/**
 * The signature of a webhook POST: `Estafeta-Signature: t=<unix seconds>,v1=<hex>` where
 * the hex is HMAC-SHA256(secret, t + "." + body). The timestamp is signed with the body so
 * a receiver can refuse an old request replayed to it. Pure; posting is post.ts's business.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Estafeta-Signature';

export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does: true when one v1 value matches the body and the timestamp is within
 * `toleranceSeconds` of `nowSeconds`. Estafeta uses it in its tests; receivers copy it
 * (docs/WEBHOOKS.md).
 */
export function verifySignature(secret: string, header: string | undefined, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  return parts.some(([k, v]) => k === 'v1' && v !== undefined && v.length === expected.length && timingSafeEqual(Buffer.from(v), expected));
}
