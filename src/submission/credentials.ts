/**
 * SMTP credentials of message streams: an application authenticates its SMTP submission
 * with a user name and a password that belong to one stream. The password is 32 random
 * bytes shown once, when created; only its SHA-256 is stored (as for API keys: a random
 * secret needs no slow hash). Listed without it, and revoked by deleting the row.
 * Not here: the SMTP session (listener.ts) or who may create them (the API route).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Q, SmtpCredentialsTable } from '../db/index.ts';
import { notFound } from '../lib/errors.ts';
import { sha256Hex } from '../lib/ids.ts';

export interface SmtpCredentialView {
  id: number;
  streamId: number;
  username: string;
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** last_used_at is written at most this often, so a busy application does not write per message. */
const TOUCH_MS = 60_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
const view = (r: Selectable<SmtpCredentialsTable>): SmtpCredentialView => ({ id: Number(r.id), streamId: Number(r.stream_id), username: r.username, createdBy: r.created_by, createdAt: iso(r.created_at)!, lastUsedAt: iso(r.last_used_at) });

/** A new credential for the stream; the clear password is in the result and nowhere else. */
export async function createSmtpCredential(q: Q, streamId: number, createdBy: string): Promise<SmtpCredentialView & { password: string }> {
  // "smtp-<stream>-<random>": says which stream it is for, and cannot be guessed either.
  const username = `smtp-${streamId}-${randomBytes(6).toString('hex')}`;
  const password = `ests_${randomBytes(32).toString('base64url')}`;
  const row = await q
    .insertInto('smtp_credentials')
    .values({ stream_id: streamId, username, password_hash: sha256Hex(password), created_by: createdBy, created_at: Date.now(), last_used_at: null })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { ...view(row), password };
}

export async function listSmtpCredentials(q: Q, streamId: number): Promise<SmtpCredentialView[]> {
  return (await q.selectFrom('smtp_credentials').selectAll().where('stream_id', '=', streamId).orderBy('id').execute()).map(view);
}

export async function revokeSmtpCredential(q: Q, streamId: number, id: number): Promise<void> {
  const r = await q.deleteFrom('smtp_credentials').where('id', '=', id).where('stream_id', '=', streamId).executeTakeFirst();
  if (!Number(r.numDeletedRows)) throw notFound(`SMTP credential ${id} of stream ${streamId}`);
}

/** The stream the user name and password open, or null (unknown name or wrong password alike). */
export async function checkSmtpCredential(q: Q, username: string, password: string): Promise<{ id: number; streamId: number } | null> {
  const row = await q.selectFrom('smtp_credentials').selectAll().where('username', '=', username).executeTakeFirst();
  const given = Buffer.from(sha256Hex(password), 'hex');
  // Compared in constant time even when the name is unknown, so timing does not tell which.
  const stored = Buffer.from(row?.password_hash ?? '0'.repeat(64), 'hex');
  if (!timingSafeEqual(given, stored) || !row) return null;
  const now = Date.now();
  if (row.last_used_at === null || now - Number(row.last_used_at) > TOUCH_MS) await q.updateTable('smtp_credentials').set({ last_used_at: now }).where('id', '=', row.id).execute();
  return { id: Number(row.id), streamId: Number(row.stream_id) };
}

/** Whether the credential still exists (a session authenticated with it is refused once it is revoked). */
export async function credentialExists(q: Q, id: number): Promise<boolean> {
  return Boolean(await q.selectFrom('smtp_credentials').select('id').where('id', '=', id).executeTakeFirst());
}
