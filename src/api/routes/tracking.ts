/**
 * The routes a recipient and a mailbox provider reach, all public and all signed: the open
 * pixel (GET /t/o/:token), tracked links (GET /t/c/:token, a 302 to the link's own URL), and
 * unsubscription (GET /unsubscribe/:token shows a page and never unsubscribes; POST, from
 * the page's button or RFC 8058 one-click, does). A token that does not verify records
 * nothing and redirects nowhere. The pixel and the redirect answer without waiting on the
 * database (tracking/recorder.ts writes in batches); only a link's URL is read once and kept.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { getLogRecipient, linkUrl } from '../../deliveries/index.ts';
import { MAX_TOKEN_LENGTH, readClickToken, readOpenToken } from '../../mail/tracking-tokens.ts';
import { readLogToken } from '../../mail/verp.ts';
import type { TrackingRecorder, TrackingHit } from '../../tracking/index.ts';
import type { ApiContext } from '../context.ts';
import { confirmPage, donePage, invalidPage, UNSUBSCRIBE_CSS } from '../unsubscribe-page.ts';

// The smallest transparent GIF.
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const NO_STORE = 'no-store, no-cache, must-revalidate, private, max-age=0';
// Links kept in memory: a delivery's links are few, and every click of a campaign asks for them.
const MAX_CACHED_LINKS = 50_000;


const tokenParams = z.object({ token: z.string().max(MAX_TOKEN_LENGTH + 100) });

export async function trackingRoutes(app: FastifyInstance, o: { ctx: Pick<ApiContext, 'db' | 'secret'>; recorder: TrackingRecorder }): Promise<void> {
  const { ctx, recorder } = o;
  const links = new Map<string, string | null>();
  const hit = (req: FastifyRequest, deliveryId: number, logId: number): TrackingHit => ({ deliveryId, logId, at: Date.now(), userAgent: String(req.headers['user-agent'] ?? ''), ip: req.ip, method: req.method });
  const tags = ['recipients'];

  // One-click POSTs come as a form, urlencoded or multipart: read either as text, small.
  app.addContentTypeParser(['application/x-www-form-urlencoded', 'multipart/form-data'], { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => done(null, body));

  app.get('/t/o/:token', {
    config: { access: 'public' },
    schema: { tags, summary: 'Open pixel: a 1x1 GIF; records an open when the token verifies', params: tokenParams },
  }, async (req, reply) => {
    const { token } = req.params as { token: string };
    const t = readOpenToken(ctx.secret, token.replace(/\.gif$/i, ''));
    if (t) recorder.open(hit(req, t.deliveryId, t.logId));
    return reply.header('cache-control', NO_STORE).header('pragma', 'no-cache').header('expires', '0').type('image/gif').send(PIXEL);
  });

  app.get('/t/c/:token', {
    config: { access: 'public' },
    schema: { tags, summary: "Tracked link: a 302 to the link's URL; records a click when the token verifies", params: tokenParams },
  }, async (req, reply) => {
    const { token } = req.params as { token: string };
    const t = readClickToken(ctx.secret, token);
    if (!t) return notValid(reply, 'This link is not valid: it may have been cut or changed when it was copied.');
    let url = t.url;
    if (url === null) {
      const key = `${t.deliveryId}:${t.linkId}`;
      if (!links.has(key)) {
        if (links.size >= MAX_CACHED_LINKS) links.clear();
        links.set(key, await linkUrl(ctx.db.kysely, t.deliveryId, t.linkId));
      }
      url = links.get(key) ?? null;
    }
    if (url === null) return notValid(reply, 'This link no longer leads anywhere: its email was deleted.');
    recorder.click(hit(req, t.deliveryId, t.logId), t.linkId, t.url);
    return reply.header('cache-control', NO_STORE).redirect(url, 302);
  });

  app.get('/unsubscribe/style.css', { config: { access: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.header('cache-control', 'public, max-age=86400').type('text/css').send(UNSUBSCRIBE_CSS));

  app.get('/unsubscribe/:token', {
    config: { access: 'public' },
    schema: { tags, summary: 'Unsubscribe page: says which address and sender, with one button (a GET never unsubscribes)', params: tokenParams },
  }, async (req, reply) => {
    const { token } = req.params as { token: string };
    const who = await recipientOf(ctx, token);
    if (!who) return reply.status(404).header('cache-control', NO_STORE).type('text/html').send(invalidPage());
    return reply.header('cache-control', NO_STORE).type('text/html').send(confirmPage({ ...who, action: `/unsubscribe/${encodeURIComponent(token)}` }));
  });

  app.post('/unsubscribe/:token', {
    config: { access: 'public' },
    schema: { tags, summary: 'Unsubscribe (RFC 8058 one-click, or the page\'s button): puts the address on the denylist; a second one changes nothing', params: tokenParams },
  }, async (req, reply) => {
    const { token } = req.params as { token: string };
    const who = await recipientOf(ctx, token);
    const fromPage = typeof req.body === 'string' && /(^|&)from=page(&|$)|name="from"/.test(req.body);
    if (!who) return fromPage ? reply.status(404).type('text/html').send(invalidPage()) : reply.status(404).type('text/plain').send('unknown or altered unsubscribe link\n');
    await recorder.unsubscribe(hit(req, who.deliveryId, who.logId), fromPage ? 'page' : 'one-click');
    return fromPage ? reply.header('cache-control', NO_STORE).type('text/html').send(donePage(who)) : reply.type('text/plain').send('unsubscribed\n');
  });
}

async function recipientOf(ctx: Pick<ApiContext, 'db' | 'secret'>, token: string) {
  const logId = readLogToken(ctx.secret, token);
  return logId === null ? null : getLogRecipient(ctx.db.kysely, logId);
}

function notValid(reply: FastifyReply, message: string) {
  return reply.status(404).header('cache-control', NO_STORE).type('text/plain; charset=utf-8').send(`${message}\n`);
}
