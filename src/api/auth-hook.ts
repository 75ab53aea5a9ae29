/**
 * Authentication and authorization for every route, decided on the route the router
 * matched, never on the raw URL: `/api/%761/users` and `/api/v1/users` reach the same route
 * and so meet the same check. Deny by default: a route says the lowest role it accepts in
 * `config.access`; under /api/v1 reads default to viewer and everything else to operator;
 * anywhere else a route must be declared public (the dashboard's files, the API's
 * documentation) or it needs the admin role. A request proves who it is with an API key
 * (`Authorization: Bearer est_...`) or the dashboard's HttpOnly session cookie. An API key
 * limited to streams may use only the routes auth/stream-scope.ts lists, on its streams.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { allows, principalForApiKey, principalForSession, streamScopeRefusal, type Access, type Principal } from '../auth/index.ts';
import type { Db } from '../db/index.ts';
import { readMessageIdParts } from '../mail/verp.ts';

declare module 'fastify' {
  interface FastifyRequest {
    user?: Principal;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

export const SESSION_COOKIE = 'estafeta_session';

/**
 * Routes outside /api/v1 that are open without credentials, by the pattern they are
 * registered with: the dashboard's static files (the page signs in through the API), the
 * API's browsable documentation, and Prometheus' scrape (see the README).
 */
const PUBLIC_OUTSIDE_API = [/^\/$/, /^\/\*$/, /^\/api\/docs(\/|$)/, /^\/metrics$/];

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  // SameSite=Strict keeps other sites from riding the session (CSRF); HttpOnly keeps scripts out.
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

/** The access a route gets when it declares none: see the header. */
export function defaultAccess(url: string, method: string | string[]): Access {
  const reads = (Array.isArray(method) ? method : [method]).every((m) => m === 'GET' || m === 'HEAD');
  if (url.startsWith('/api/v1/')) return reads ? 'viewer' : 'operator';
  return PUBLIC_OUTSIDE_API.some((re) => re.test(url)) ? 'public' : 'admin';
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

/**
 * Must be installed before any route is registered: every route gets its access written
 * into its config when it is added, and every request is checked against the route it hit.
 */
export function installAuth(app: FastifyInstance, db: Db, secret: string): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const access = (route.config as { access?: Access } | undefined)?.access ?? defaultAccess(route.url ?? '', route.method);
    route.config = { ...(route.config as object), access };
    // The OpenAPI document says which routes are open and which role the others need.
    // (with the recipients' routes outside /api/v1: pixel, tracked links, unsubscribe).
    const hidden = (route.schema as { hide?: boolean } | undefined)?.hide === true;
    if (route.url?.startsWith('/api/v1/') || (route.schema && !hidden)) {
      route.schema = { ...route.schema, security: access === 'public' ? [] : [{ apiKey: [] }, { session: [] }], 'x-estafeta-access': access } as RouteOptions['schema'];
    }
  });
  app.addHook('onRequest', async (req, reply) => {
    // No matched route: the not-found handler answers, and it reveals nothing.
    if (req.routeOptions.url === undefined) return;
    const access: Access = req.routeOptions.config?.access ?? 'admin';
    if (access === 'public') return;
    // Named as the caller wrote it; the decision above and below is the matched route's.
    const route = `${req.method} ${req.url.split('?')[0]}`;
    const user = await authenticate(db, req);
    if (!user) {
      return deny(reply, 401, 'UNAUTHORIZED', req.headers.authorization ? 'this API key is not valid (revoked or mistyped)' : 'authentication required: sign in, or send an API key as "Authorization: Bearer <key>"');
    }
    // A cookie travels with any request to this host: refuse changes coming from another origin.
    if (user.kind === 'user' && req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req)) {
      return deny(reply, 403, 'FORBIDDEN', 'cross-origin request refused');
    }
    req.user = user;
    if (!allows(user.role, access)) {
      return deny(reply, 403, 'FORBIDDEN', `${who(user)} has the ${user.role} role, which cannot do this (${route} needs ${access === 'admin' ? 'the admin role' : access === 'operator' ? 'the operator or admin role' : 'a signed-in user'})`);
    }
    if (user.streams) {
      const refused = await streamScopeRefusal(user, req.method, req.routeOptions.url, req.params as Record<string, string>, (req.query ?? {}) as Record<string, unknown>, {
        logStream: async (logId) => {
          const log = await db.kysely.selectFrom('delivery_logs').select('delivery_id').where('id', '=', logId).executeTakeFirst();
          return log ? Number(log.delivery_id) : null;
        },
        messageIdStream: (messageId) => readMessageIdParts(secret, messageId)?.deliveryId ?? null,
      });
      if (refused) return deny(reply, 403, 'FORBIDDEN', refused);
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
