/**
 * The send API's idempotency keys: a call with an `Idempotency-Key` header claims the key
 * for its caller first (a row without an answer), then its answer is written in the same
 * transaction as its messages, so an answer exists exactly when the messages do. A retried
 * call finds the answer and gets it again, nothing sent (the same key with another request
 * is refused); a call while the first is still running is told to retry; a claim left without an answer for CLAIM_TIMEOUT_MS (a crash
 * before the commit, so nothing was sent) may be taken over. Keys are kept KEEP_MS. The only
 * writer of `idempotency_keys`.
 */
import type { Q } from '../db/index.ts';

export const KEEP_MS = 24 * 3_600_000;
const CLAIM_TIMEOUT_MS = 5 * 60_000;
/** The status of a claim whose call has not answered yet. */
const CLAIMED = 0;

export type Claim = { kind: 'claimed' } | { kind: 'answered'; status: number; response: unknown; requestHash: string | null } | { kind: 'running' };

export async function claimKey(q: Q, principal: string, key: string, now = Date.now()): Promise<Claim> {
  const inserted = await q
    .insertInto('idempotency_keys')
    .values({ principal, key, status: CLAIMED, response: '', created_at: now })
    .onConflict((oc) => oc.columns(['principal', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  if (inserted) return { kind: 'claimed' };
  const row = await q.selectFrom('idempotency_keys').select(['status', 'response', 'created_at']).where('principal', '=', principal).where('key', '=', key).executeTakeFirst();
  if (!row) return claimKey(q, principal, key, now);
  const age = now - Number(row.created_at);
  if (row.status !== CLAIMED && age < KEEP_MS) {
    const stored = JSON.parse(row.response) as { request: string | null; response: unknown };
    return { kind: 'answered', status: row.status, response: stored.response, requestHash: stored.request };
  }
  if (row.status === CLAIMED && age < CLAIM_TIMEOUT_MS) return { kind: 'running' };
  // Expired, or abandoned: this call takes the key over (one caller wins the update).
  const r = await q
    .updateTable('idempotency_keys')
    .set({ status: CLAIMED, response: '', created_at: now })
    .where('principal', '=', principal)
    .where('key', '=', key)
    .where('created_at', '=', Number(row.created_at))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1 ? { kind: 'claimed' } : { kind: 'running' };
}

/**
 * Writes the answer of a claimed key, in the transaction of the call's messages, with a hash
 * of the request: the same key sent with another request is a mistake to refuse, not a retry.
 */
export async function recordAnswer(q: Q, principal: string, key: string, status: number, response: unknown, requestHash: string | null = null): Promise<void> {
  await q.updateTable('idempotency_keys').set({ status, response: JSON.stringify({ request: requestHash, response }) }).where('principal', '=', principal).where('key', '=', key).execute();
}

/** A call that failed before sending anything gives its key back. */
export async function releaseKey(q: Q, principal: string, key: string): Promise<void> {
  await q.deleteFrom('idempotency_keys').where('principal', '=', principal).where('key', '=', key).where('status', '=', CLAIMED).execute();
}

/** Removes keys older than KEEP_MS; returns how many. */
export async function expireKeys(q: Q, now = Date.now()): Promise<number> {
  const r = await q.deleteFrom('idempotency_keys').where('created_at', '<', now - KEEP_MS).executeTakeFirst();
  return Number(r.numDeletedRows);
}
