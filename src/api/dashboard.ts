/**
 * Serves the dashboard (the Vite build in web/dist) at `/`. Paths that are not files fall
 * back to index.html so the dashboard's own URLs (/deliveries/12/logs) survive a reload.
 * Built assets have content hashes in their names and are cached for good; index.html is
 * revalidated so a new version is picked up at once.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';

export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Estafeta</title>
<body style="font:16px system-ui;margin:3rem;max-width:40rem">
<h1>The dashboard is not built</h1>
<p><code>npm start</code> builds it before starting; to build it by hand run <code>npm run build:web</code>, then reload.</p>
<p>The API is up: <a href="/api/docs">/api/docs</a>.</p>`;

export async function registerDashboard(app: FastifyInstance): Promise<void> {
  if (!existsSync(WEB_DIST + 'index.html')) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html').send(NOT_BUILT));
    return;
  }
  await app.register(fastifyStatic, {
    root: WEB_DIST,
    prefix: '/',
    schemaHide: true,
    setHeaders(res, path) {
      res.header('cache-control', /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}

/** For the not-found handler: answers a browser navigation with the dashboard's page. */
export function dashboardFallback(req: FastifyRequest, reply: FastifyReply): boolean {
  if (req.method !== 'GET' || req.url.startsWith('/api/') || !(req.headers.accept ?? '').includes('text/html')) return false;
  if (!existsSync(WEB_DIST + 'index.html')) return false;
  void reply.header('cache-control', 'no-cache').sendFile('index.html');
  return true;
}
