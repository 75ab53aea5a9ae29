/**
 * Builds the HTTP API (fastify): zod validation and serialization, an OpenAPI document at
 * /api/v1/openapi.json with a browsable UI at /api/docs, one plugin per resource under
 * /api/v1, and one error format: {"error": {"code", "message", "details"}}.
 */
import Fastify, { type FastifyInstance, type FastifyError } from 'fastify';
import { RequestLog } from './request-log.ts';
import { partInWords, validationInWords } from './validation-message.ts';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { EstafetaError } from '../lib/errors.ts';
import type { ApiContext } from './context.ts';
import { healthRoutes } from './routes/health.ts';
import { deliveryRoutes } from './routes/deliveries.ts';
import { deliveryActionRoutes } from './routes/delivery-actions.ts';
import { logRoutes } from './routes/logs.ts';
import { quarantineRoutes } from './routes/quarantine.ts';
import { bounceRoutes } from './routes/bounces.ts';
import { mtaRoutes } from './routes/mta.ts';
import { authRoutes } from './routes/auth.ts';
import { userRoutes } from './routes/users.ts';
import { streamRoutes } from './routes/stream.ts';
import { dkimRoutes } from './routes/dkim.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { messageStreamRoutes } from './routes/streams.ts';
import { smtpCredentialRoutes } from './routes/smtp-credentials.ts';
import { streamReportRoutes } from './routes/stream-reports.ts';
import { installAuth } from './auth-hook.ts';
import { bodyTooLarge, DEFAULT_BODY_LIMIT, installBodyParsers } from './body-parsing.ts';
import { dashboardFallback, registerDashboard } from './dashboard.ts';
import { trackingRoutes } from './routes/tracking.ts';
import { installSecurityHeaders } from './security-headers.ts';
import { MAX_TOKEN_LENGTH } from '../mail/tracking-tokens.ts';

export async function buildServer(ctx: ApiContext): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: ctx.logger.child({ component: 'api' }),
    // One debug line per request that changes something (request-log.ts).
    logController: new RequestLog(),
    // Routes that import recipients raise it (body-parsing.ts): nobody else may send 200 MB.
    bodyLimit: DEFAULT_BODY_LIMIT,
    // A tracked link's token carries a personalized URL: fastify's 100-character default would not route it.
    routerOptions: { maxParamLength: MAX_TOKEN_LENGTH + 100 },
    // Only the configured proxies may say who the client is (X-Forwarded-For).
    trustProxy: ctx.config.http.trustedProxies.length ? ctx.config.http.trustedProxies : false }) as unknown as FastifyInstance;
  // A schema that throws on a hostile value (zod compares a `length` that cannot become a
  // number) is a refused request, not an internal error.
  app.setValidatorCompiler((route) => {
    const validate = validatorCompiler(route as Parameters<typeof validatorCompiler>[0]);
    return (data: unknown) => {
      try {
        return validate(data);
      } catch {
        return { error: Object.assign(new Error(`${partInWords(route.httpPart)} has a value of the wrong type (an object where text or a number is expected)`), { statusCode: 400, code: 'INVALID_INPUT' }) };
      }
    };
  });
  app.setSerializerCompiler(serializerCompiler);
  installBodyParsers(app);
  installSecurityHeaders(app);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const message = validationInWords(err.validationContext, err.validation);
      return reply.status(400).send({ error: { code: 'INVALID_INPUT', message } });
    }
    const tooLarge = bodyTooLarge(err, req);
    if (tooLarge) return reply.status(tooLarge.status).send({ error: { code: 'BODY_TOO_LARGE', message: tooLarge.message } });
    if (err instanceof EstafetaError) {
      return reply.status(err.httpStatus).send({ error: { code: err.code, message: err.message, details: err.details } });
    }
    if (err.statusCode && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ error: { code: err.code ?? 'BAD_REQUEST', message: err.message } });
    }
    req.log.error({ err }, 'request failed');
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error; see the server log' } });
  });
  app.setNotFoundHandler((req, reply) => (dashboardFallback(req, reply) ? reply : reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` } })));

  // Before any route: every /api/v1 route is authenticated unless it says otherwise.
  installAuth(app, ctx.db, ctx.secret);

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Estafeta API', description: 'Email delivery and monitoring: deliveries, analysis, delivery logs, KPIs. Every route needs an API key or a signed-in session unless its security list is empty; x-estafeta-access names the lowest role it accepts (viewer < operator < admin) or says public.', version: ctx.version },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: Authorization: Bearer est_...' },
          session: { type: 'apiKey', in: 'cookie', name: 'estafeta_session', description: "The dashboard's session cookie, set by POST /api/v1/auth/login" },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs' });
  app.get('/api/v1/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());

  await registerDashboard(app);
  // Public: reached by recipients and mailbox providers; every request carries a signed token.
  if (ctx.tracking) await app.register(trackingRoutes, { ctx, recorder: ctx.tracking });

  // Prometheus scrapes without credentials, as it usually does; put the port behind your network.
  if (ctx.metrics) {
    const registry = ctx.metrics;
    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  }

  await app.register(async (v1) => {
    await v1.register(authRoutes, ctx);
    await v1.register(userRoutes, ctx);
    await v1.register(streamRoutes, ctx);
    await v1.register(healthRoutes, ctx);
    await v1.register(deliveryRoutes, ctx);
    await v1.register(deliveryActionRoutes, ctx);
    await v1.register(logRoutes, ctx);
    await v1.register(quarantineRoutes, ctx);
    await v1.register(bounceRoutes, ctx);
    await v1.register(mtaRoutes, ctx);
    await v1.register(dkimRoutes, ctx);
    await v1.register(webhookRoutes, ctx);
    await v1.register(messageStreamRoutes, ctx);
    await v1.register(smtpCredentialRoutes, ctx);
    await v1.register(streamReportRoutes, ctx);
  }, { prefix: '/api/v1' });
  return app;
}
