/**
 * API keys and dashboard sessions: the two ways a request proves who it is. Both are random
 * tokens of which only the SHA-256 is stored; an API key is shown once, when created. A key
 * may be limited to streams (their ids, resolved from ids or names when it is created): what
 * such a key may do is api/auth-hook.ts's to decide.
 */
import type { Selectable } from 'kysely';
import type { ApiKeysTable, Q } from '../db/index.ts';
import { EstafetaError, invalidInput, notFound } from '../lib/errors.ts';
import { isRole, type Principal, type Role } from './roles.ts';
import { newApiKey, newSessionToken, tokenHash } from './secrets.ts';

export interface ApiKeyView {
  id: number;
  name: string;
  /** The first characters of the key, enough to recognise it, useless to use it. */
  prefix: string;
  role: Role;
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  /** The streams the key is limited to (ids), or null: not limited. */
  streams: number[] | null;
}

export const SESSION_TTL_MS = 7 * 24 * 3600_000;
/** A session is extended when used with less than this left, so use writes rarely. */
const SESSION_REFRESH_MS = 6 * 24 * 3600_000;
/** last_used_at of a key is written at most this often. */
const KEY_TOUCH_MS = 60_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
const streamsOf = (json: string | null | undefined): number[] | null => (json ? (JSON.parse(json) as number[]) : null);

function toKeyView(r: Selectable<ApiKeysTable>): ApiKeyView {
  return { id: Number(r.id), name: r.name, prefix: r.prefix, role: r.role as Role, createdBy: r.created_by, createdAt: iso(r.created_at)!, lastUsedAt: iso(r.last_used_at), streams: streamsOf(r.streams) };
}

export async function listApiKeys(q: Q): Promise<ApiKeyView[]> {
  return (await q.selectFrom('api_keys').selectAll().orderBy('name').execute()).map(toKeyView);
}

/**
 * Creates a key; the clear key is in the result and nowhere else, ever. `streams` (ids or
 * names) limits it to those streams; an admin key cannot be limited (it manages keys).
 */
export async function createApiKey(q: Q, input: { name: string; role: string; createdBy: string; streams?: (string | number)[] | null }): Promise<ApiKeyView & { key: string }> {
  const name = input.name.trim();
  if (!/^[\w.@-]{1,64}$/.test(name)) throw invalidInput(`API key name "${input.name}": use 1 to 64 letters, digits, dots, dashes, underscores or @`);
  if (!isRole(input.role)) throw invalidInput(`role "${input.role}": expected viewer, operator or admin`);
  let streams: number[] | null = null;
  if (input.streams) {
    if (!input.streams.length) throw invalidInput('streams: name at least one stream, or leave streams out for a key that is not limited');
    if (input.role === 'admin') throw invalidInput('streams: an admin key cannot be limited to streams (it could give itself any access); use the operator role');
    streams = [];
    for (const ref of input.streams) {
      const byId = typeof ref === 'number' || /^\d+$/.test(ref);
      const row = await q.selectFrom('deliveries').select('id').where('kind', '=', 'stream').where(byId ? 'id' : 'label', '=', byId ? Number(ref) : String(ref)).executeTakeFirst();
      if (!row) throw invalidInput(`streams: no stream "${ref}"`);
      if (!streams.includes(Number(row.id))) streams.push(Number(row.id));
    }
  }
  const key = newApiKey();
  const row = await q
    .insertInto('api_keys')
    .values({ name, key_hash: tokenHash(key), prefix: key.slice(0, 10), role: input.role, created_by: input.createdBy, created_at: Date.now(), last_used_at: null, streams: streams ? JSON.stringify(streams) : null })
    .onConflict((oc) => oc.column('name').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new EstafetaError('CONFLICT', `an API key named "${name}" already exists`);
  return { ...toKeyView(row), key };
}

export async function deleteApiKey(q: Q, id: number): Promise<void> {
  const r = await q.deleteFrom('api_keys').where('id', '=', id).executeTakeFirst();
  if (!Number(r.numDeletedRows)) throw notFound(`API key ${id}`);
}

export async function principalForApiKey(q: Q, key: string): Promise<Principal | null> {
  const row = await q.selectFrom('api_keys').selectAll().where('key_hash', '=', tokenHash(key)).executeTakeFirst();
  if (!row) return null;
  const now = Date.now();
  if (row.last_used_at === null || now - Number(row.last_used_at) > KEY_TOUCH_MS) {
    await q.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', row.id).execute();
  }
  const streams = streamsOf(row.streams);
  return { kind: 'api-key', id: Number(row.id), name: `${row.name} (API key)`, role: row.role as Role, ...(streams ? { streams } : {}) };
}

export async function createSession(q: Q, userId: number): Promise<{ token: string; expiresAt: number }> {
  const token = newSessionToken();
  const now = Date.now();
  const expiresAt = now + SESSION_TTL_MS;
  await q.insertInto('sessions').values({ token_hash: tokenHash(token), user_id: userId, created_at: now, expires_at: expiresAt }).execute();
  // Sweep expired sessions now and then rather than in a background job.
  await q.deleteFrom('sessions').where('expires_at', '<', now).execute();
  return { token, expiresAt };
}

export async function principalForSession(q: Q, token: string): Promise<Principal | null> {
  const hash = tokenHash(token);
  const row = await q
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['users.id', 'users.name', 'users.role', 'sessions.expires_at'])
    .where('sessions.token_hash', '=', hash)
    .executeTakeFirst();
  const now = Date.now();
  if (!row || Number(row.expires_at) < now) return null;
  if (Number(row.expires_at) - now < SESSION_REFRESH_MS) {
    await q.updateTable('sessions').set({ expires_at: now + SESSION_TTL_MS }).where('token_hash', '=', hash).execute();
  }
  return { kind: 'user', id: Number(row.id), name: row.name, role: row.role as Role, sessionHash: hash };
}

export async function deleteSession(q: Q, sessionHash: string): Promise<void> {
  await q.deleteFrom('sessions').where('token_hash', '=', sessionHash).execute();
}
