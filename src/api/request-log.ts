/**
 * How the HTTP API logs requests: one line per request, at debug level, so that an
 * operator's console at the default level (info) shows what Estafeta does, not every click
 * of the dashboard. Reads (GET, HEAD) are not logged even at debug: the dashboard polls.
 * Failures keep fastify's levels (error for a 5xx, warn for a broken stream).
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

export class RequestLog extends LogController {
  constructor() {
    super({ disableRequestLogging: (req) => req.method === 'GET' || req.method === 'HEAD' });
  }

  // The completed line says everything the incoming one would: one line, not two.
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) return void reply.log.error({ method: request.method, url: request.url, status: reply.statusCode, err: error, ms: Math.round(reply.elapsedTime) }, 'request errored');
    reply.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request completed');
  }

  // A 4xx answer is the client's mistake, not news for the operator.
  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (reply.statusCode >= 500) reply.log.error({ method: request.method, url: request.url, err: error }, error?.message);
    else reply.log.debug({ method: request.method, url: request.url, status: reply.statusCode }, error?.message);
  }
}
