/**
 * What the API accepts as a request body: how large, per route (a small default; a few KB
 * for signing in; a large limit only where recipients are imported or content is given),
 * and how deep a JSON body may nest, checked before it is parsed so no later code can be
 * made to recurse 100,000 levels. A body over its limit answers 413 naming the limit; one
 * too deep answers 400. It does not validate what a body means: the routes' schemas do.
 */
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';

/** Every route that does not say otherwise. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** Sign-in and password changes: a name and a password or two. */
export const CREDENTIALS_BODY_LIMIT = 8 * 1024;
/** Routes that import recipients (CSV or JSON) or take a delivery's content. */
export const IMPORT_BODY_LIMIT = 200 * 1024 * 1024;
/** Deeper than any body the API defines (a delivery with recipients nests 4 levels). */
export const MAX_JSON_DEPTH = 64;

export function sizeInWords(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KB`;
  return `${bytes} bytes`;
}

/** The answer to a body over its route's limit, for the error handler; null for other errors. */
export function bodyTooLarge(err: FastifyError, req: FastifyRequest): { status: 413; message: string } | null {
  if (err.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') return null;
  const limit = req.routeOptions.bodyLimit ?? DEFAULT_BODY_LIMIT;
  return { status: 413, message: `the request body is larger than this route accepts (${sizeInWords(limit)})` };
}

/**
 * The deepest nesting of objects and arrays in a JSON text, stopping as soon as it passes
 * `max`: one pass, no recursion, strings skipped (a bracket inside a string does not count).
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c /* \ */) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}

/** Replaces fastify's JSON parser with one that checks the depth first, and accepts CSV as bytes. */
export function installBodyParsers(app: FastifyInstance): void {
  // Fastify's own parser (secure-json-parse, refusing __proto__ and constructor.prototype) does the parsing.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (jsonDepthExceeds(body as string, MAX_JSON_DEPTH)) {
      const err = Object.assign(new Error(`the JSON body nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`), { statusCode: 400, code: 'INVALID_INPUT' });
      return done(err, undefined);
    }
    parseJson(req, body as string, done);
  });
  // Recipient lists arrive as CSV text.
  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
}
