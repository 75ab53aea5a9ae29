/**
 * Authentication and authorization for every /api/v1 route, as one onRequest hook, so a
 * route added later is protected without doing anything. A request proves who it is with
 * an API key (`Authorization: Bearer est_...`) or the dashboard's HttpOnly session cookie.
 * A route says the lowest role it accepts in `config.access`; reads default to viewer and
 * everything else to operator.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { allows, principalForApiKey, principalForSession, type Access, type Principal, type Role } from '../auth/index.ts';
import type { Db } from '../db/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    user?: Principal;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

export const SESSION_COOKIE = 'estafeta_session';

/** Open without credentials: liveness probes, and the API's own description. */
const PUBLIC = new Set(['GET /api/v1/health', 'GET /api/v1/openapi.json']);

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  // SameSite=Strict keeps other sites from riding the session (CSRF); HttpOnly keeps scripts out.
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

async function authenticate(db: Db, req: FastifyRequest): Promise<Principal | null> {
  const auth = req.headers.authorization;
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    return m ? principalForApiKey(db.kysely, m[1]) : null;
  }
  const token = readCookie(req.headers.cookie, SESSION_COOKIE);
  return token ? principalForSession(db.kysely, token) : null;
}

function deny(reply: FastifyReply, status: 401 | 403, code: string, message: string) {
  return reply.status(status).send({ error: { code, message } });
}

export function installAuth(app: FastifyInstance, db: Db): void {
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0];
    if (!path.startsWith('/api/v1/')) return;
    const access: Access = req.routeOptions.config?.access ?? (req.method === 'GET' || req.method === 'HEAD' ? 'viewer' : 'operator');
    if (access === 'public' || PUBLIC.has(`${req.method} ${path}`)) return;
    const user = await authenticate(db, req);
    if (!user) {
      return deny(reply, 401, 'UNAUTHORIZED', req.headers.authorization ? 'this API key is not valid (revoked or mistyped)' : 'authentication required: sign in, or send an API key as "Authorization: Bearer <key>"');
    }
    // A cookie travels with any request to this host: refuse changes coming from another origin.
    if (user.kind === 'user' && req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req)) {
      return deny(reply, 403, 'FORBIDDEN', 'cross-origin request refused');
    }
    req.user = user;
    if (!allows(user.role, access as Role)) {
      return deny(reply, 403, 'FORBIDDEN', `${who(user)} has the ${user.role} role, which cannot do this (${req.method} ${path} needs ${access === 'admin' ? 'the admin role' : 'the operator or admin role'})`);
    }
  });
}

const who = (u: Principal) => (u.kind === 'user' ? `user "${u.name}"` : `API key "${u.name.replace(/ \(API key\)$/, '')}"`);

function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
