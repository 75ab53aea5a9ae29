/**
 * Headers every response carries so a browser confines what it received: a strict Content
 * Security Policy (the built dashboard loads only its own script, style and the data: icon,
 * and talks only to this origin), no framing (clickjacking), no type sniffing, no referrer.
 * The API's documentation (Swagger UI, /api/docs) gets the one allowance it needs, inline
 * styles. Live streams are written around fastify's hooks: sse.ts sets what applies to them.
 */
import type { FastifyInstance } from 'fastify';

const STRICT = {
  'default-src': "'self'",
  'script-src': "'self'",
  'style-src': "'self'",
  'img-src': "'self' data:",
  'font-src': "'self'",
  'connect-src': "'self'",
  'object-src': "'none'",
  'base-uri': "'none'",
  'form-action': "'self'",
  'frame-ancestors': "'none'",
};

const policy = (p: Record<string, string>) => Object.entries(p).map(([k, v]) => `${k} ${v}`).join('; ');

export const DASHBOARD_CSP = policy(STRICT);
/** Swagger UI sets style attributes and <style> elements from its script. */
export const DOCS_CSP = policy({ ...STRICT, 'style-src': "'self' 'unsafe-inline'" });

export function installSecurityHeaders(app: FastifyInstance): void {
  // onSend runs for every answer fastify sends: routes, files, errors, 404s and the 401s of the auth hook.
  app.addHook('onSend', async (req, reply, payload) => {
    const docs = (req.routeOptions.url ?? '').startsWith('/api/docs');
    reply.header('content-security-policy', docs ? DOCS_CSP : DASHBOARD_CSP);
    reply.header('x-frame-options', 'DENY');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });
}
