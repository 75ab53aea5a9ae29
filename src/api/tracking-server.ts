/**
 * A small HTTP server with only the recipients' routes (open pixel, tracked links,
 * unsubscribe) and the same security headers, for the tracking thread (app/tracking-thread.ts):
 * a burst of pixel fetches then costs the thread that sends mail nothing. Everything else
 * answers 404.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Db } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { TrackingRecorder } from '../tracking/index.ts';
import { installSecurityHeaders } from './security-headers.ts';
import { RequestLog } from './request-log.ts';
import { trackingRoutes } from './routes/tracking.ts';
import { MAX_TOKEN_LENGTH } from '../mail/tracking-tokens.ts';

export interface TrackingServerOptions {
  db: Db;
  secret: string;
  recorder: TrackingRecorder;
  logger: Logger;
  trustedProxies: string[];
}

export async function buildTrackingServer(o: TrackingServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: o.logger.child({ component: 'tracking-http' }),
    logController: new RequestLog(),
    bodyLimit: 4096,
    routerOptions: { maxParamLength: MAX_TOKEN_LENGTH + 100 },
    trustProxy: o.trustedProxies.length ? o.trustedProxies : false,
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installSecurityHeaders(app);
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'tracking request failed');
    return reply.status(status).type('text/plain').send(status === 500 ? 'internal error\n' : 'bad request\n');
  });
  app.setNotFoundHandler((_req, reply) => reply.status(404).type('text/plain').send('not found\n'));
  await app.register(trackingRoutes, { ctx: { db: o.db, secret: o.secret }, recorder: o.recorder });
  return app;
}
