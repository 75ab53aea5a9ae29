/**
 * Users: create, list, change role or password, delete, and check a password at sign-in.
 * Names are kept lower-case so "Ana" and "ana" cannot be two accounts. The last admin can
 * neither be demoted nor deleted, so nobody locks the instance out of its own settings.
 */
import type { Selectable } from 'kysely';
import type { Q, UsersTable } from '../db/index.ts';
import { EstafetaError, invalidInput, notFound } from '../lib/errors.ts';
import { isRole, type Role } from './roles.ts';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from './secrets.ts';

export interface UserView {
  id: number;
  name: string;
  role: Role;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
}

export const MIN_PASSWORD_LENGTH = 10;
const NAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export function toUserView(r: Selectable<UsersTable>): UserView {
  return { id: Number(r.id), name: r.name, role: r.role as Role, createdAt: iso(r.created_at)!, updatedAt: iso(r.updated_at)!, lastLoginAt: iso(r.last_login_at) };
}

export function normalizeName(name: string): string {
  const n = name.trim().toLowerCase();
  if (!NAME.test(n)) throw invalidInput(`user name "${name}": use 1 to 64 letters, digits, dots, dashes, underscores or @`);
  return n;
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw invalidInput(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
}

function checkRole(role: string): Role {
  if (!isRole(role)) throw invalidInput(`role "${role}": expected viewer, operator or admin`);
  return role;
}

export async function countUsers(q: Q): Promise<number> {
  const r = await q.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function listUsers(q: Q): Promise<UserView[]> {
  return (await q.selectFrom('users').selectAll().orderBy('name').execute()).map(toUserView);
}

export async function getUser(q: Q, id: number): Promise<UserView> {
  const r = await q.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r) throw notFound(`user ${id}`);
  return toUserView(r);
}

/** Creates a user; returns null when the name is taken (the caller decides if that is an error). */
export async function insertUser(q: Q, input: { name: string; password: string; role: string }): Promise<UserView | null> {
  const name = normalizeName(input.name);
  checkPassword(input.password);
  const role = checkRole(input.role);
  const now = Date.now();
  const row = await q
    .insertInto('users')
    .values({ name, password_hash: await hashPassword(input.password), role, created_at: now, updated_at: now, last_login_at: null })
    .onConflict((oc) => oc.column('name').doNothing())
    .returningAll()
    .executeTakeFirst();
  return row ? toUserView(row) : null;
}

export async function createUser(q: Q, input: { name: string; password: string; role: string }): Promise<UserView> {
  const user = await insertUser(q, input);
  if (!user) throw new EstafetaError('CONFLICT', `a user named "${normalizeName(input.name)}" already exists`);
  return user;
}

async function assertAnotherAdmin(q: Q, id: number): Promise<void> {
  const others = await q.selectFrom('users').select('id').where('role', '=', 'admin').where('id', '!=', id).limit(1).execute();
  if (!others.length) throw new EstafetaError('CONFLICT', 'this is the last admin: make another user admin first');
}

export async function updateUser(q: Q, id: number, change: { role?: string; password?: string }): Promise<UserView> {
  const current = await getUser(q, id);
  const set: Partial<Selectable<UsersTable>> = { updated_at: Date.now() };
  if (change.role !== undefined) {
    set.role = checkRole(change.role);
    if (current.role === 'admin' && set.role !== 'admin') await assertAnotherAdmin(q, id);
  }
  if (change.password !== undefined) {
    checkPassword(change.password);
    set.password_hash = await hashPassword(change.password);
  }
  await q.updateTable('users').set(set).where('id', '=', id).execute();
  // A new password signs the user out everywhere else.
  if (change.password !== undefined) await q.deleteFrom('sessions').where('user_id', '=', id).execute();
  return getUser(q, id);
}

export async function deleteUser(q: Q, id: number): Promise<void> {
  const current = await getUser(q, id);
  if (current.role === 'admin') await assertAnotherAdmin(q, id);
  await q.deleteFrom('sessions').where('user_id', '=', id).execute();
  await q.deleteFrom('users').where('id', '=', id).execute();
}

/** The user when name and password match, else null; costs the same either way. */
export async function checkCredentials(q: Q, name: string, password: string): Promise<UserView | null> {
  const row = await q.selectFrom('users').selectAll().where('name', '=', name.trim().toLowerCase()).executeTakeFirst();
  const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_PASSWORD_HASH);
  if (!row || !ok) return null;
  await q.updateTable('users').set({ last_login_at: Date.now() }).where('id', '=', row.id).execute();
  return toUserView(row);
}
