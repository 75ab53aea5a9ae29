/**
 * Signing in and out of the dashboard, who am I, and changing one's own password. Sign-in
 * sets an HttpOnly session cookie; the response never carries a secret. Failed sign-ins are
 * counted per account and per source address (auth/throttle.ts): past a few, the next ones
 * wait longer and longer (429 with Retry-After), to make guessing expensive.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkCredentials, createSession, deleteSession, SESSION_TTL_MS, updateUser, verifyPassword } from '../../auth/index.ts';
import { LoginThrottle, waitInWords } from '../../auth/throttle.ts';
import { EstafetaError } from '../../lib/errors.ts';
import type { ApiContext } from '../context.ts';
import { errorSchema } from '../schemas.ts';
import { signedInSchema } from '../access-schemas.ts';
import { SESSION_COOKIE, sessionCookie } from '../auth-hook.ts';
import { CREDENTIALS_BODY_LIMIT } from '../body-parsing.ts';

/** 429 with Retry-After (seconds) and the wait in words. */
function refuse(reply: FastifyReply, refused: { by: 'account' | 'source'; retryAfterMs: number }) {
  reply.header('retry-after', String(Math.ceil(refused.retryAfterMs / 1000)));
  const who = refused.by === 'account' ? 'for this user' : 'from this address';
  return reply.status(429).send({ error: { code: 'TOO_MANY_ATTEMPTS', message: `too many failed sign-ins ${who}; try again in ${waitInWords(refused.retryAfterMs)}` } });
}

export async function authRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['authentication'];
  const throttle = new LoginThrottle();
  const secure = (ctx.config.publicUrl ?? '').startsWith('https:');

  r.post('/auth/login', {
    config: { access: 'public' },
    bodyLimit: CREDENTIALS_BODY_LIMIT,
    schema: {
      tags,
      summary: 'Sign in to the dashboard: sets an HttpOnly session cookie',
      body: z.object({ name: z.string().min(1).max(64), password: z.string().min(1).max(1024) }),
      response: { 200: signedInSchema, 401: errorSchema, 429: errorSchema },
    },
  }, async (req, reply) => {
    // Reserved before the slow password check, so requests sent together cannot all pass.
    const admission = throttle.admit(req.body.name, req.ip);
    if (!admission.ok) return refuse(reply, admission);
    let user;
    try {
      user = await checkCredentials(ctx.db.kysely, req.body.name, req.body.password);
    } catch (err) {
      // A database error is no guess: free the reservation without counting a failure.
      admission.done('error');
      throw err;
    }
    admission.done(user ? 'success' : 'failure');
    if (!user) return reply.status(401).send({ error: { code: 'UNAUTHORIZED', message: 'wrong user name or password' } });
    const session = await createSession(ctx.db.kysely, user.id);
    reply.header('set-cookie', sessionCookie(session.token, Math.floor(SESSION_TTL_MS / 1000), secure));
    return { user: { kind: 'user' as const, id: user.id, name: user.name, role: user.role } };
  });

  r.post('/auth/logout', {
    config: { access: 'viewer' },
    schema: { tags, summary: 'Sign out: ends this session', response: { 204: z.null() } },
  }, async (req, reply) => {
    if (req.user?.sessionHash) await deleteSession(ctx.db.kysely, req.user.sessionHash);
    reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return reply.status(204).send(null);
  });

  r.get('/auth/me', {
    schema: { tags, summary: 'Who this request is authenticated as', response: { 200: signedInSchema } },
  }, async (req) => ({ user: req.user! }));

  r.post('/auth/password', {
    config: { access: 'viewer' },
    bodyLimit: CREDENTIALS_BODY_LIMIT,
    schema: {
      tags,
      summary: 'Change your own password (signs out your other sessions)',
      body: z.object({ current: z.string().min(1), password: z.string().min(1).max(1024) }),
      response: { 204: z.null(), 400: errorSchema, 403: errorSchema, 429: errorSchema },
    },
  }, async (req, reply) => {
    const user = req.user!;
    if (user.kind !== 'user') throw new EstafetaError('FORBIDDEN', 'an API key has no password; sign in as a user');
    // The current password is checked like a sign-in, so a stolen session cannot guess it.
    const admission = throttle.admit(user.name, req.ip);
    if (!admission.ok) return refuse(reply, admission);
    let ok;
    try {
      const row = await ctx.db.kysely.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
      ok = await verifyPassword(req.body.current, row.password_hash);
    } catch (err) {
      admission.done('error');
      throw err;
    }
    admission.done(ok ? 'success' : 'failure');
    if (!ok) throw new EstafetaError('FORBIDDEN', 'the current password is wrong');
    await updateUser(ctx.db.kysely, user.id, { password: req.body.password });
    // updateUser ended every session of the user; keep this one signed in with a new one.
    const session = await createSession(ctx.db.kysely, user.id);
    reply.header('set-cookie', sessionCookie(session.token, Math.floor(SESSION_TTL_MS / 1000), secure));
    return reply.status(204).send(null);
  });
}
