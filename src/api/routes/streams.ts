/**
 * Message streams and the send API. Streams: create (operator), list, read, pause and
 * resume, KPIs (the delivery KPIs of the stream's row, since its creation), a recent window
 * (outcomes per minute, as the throughput chart counts them), failures; their logs are GET
 * /streams/:id/logs (logs.ts, the same list as a delivery's). Send: POST /messages (one
 * message, one log per recipient) and POST /messages/batch (up to 500, each answered on its
 * own); a message gives its fields, a stored template and its data (a field missing is 422
 * with the fields named; templates.ts holds their routes), or raw MIME. An `Idempotency-Key`
 * header makes a retried call answer what the first answered, sending nothing again. Each
 * caller sends at most config api.sendRate messages a second (429 with Retry-After past it);
 * an API key limited to streams may send to those only (403 naming them). The answer comes
 * after the messages are durably in the spool.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createStream, getStreamRow, listStreams, pauseDelivery, resumeDelivery, toStreamView } from '../../deliveries/index.ts';
import { getFailureBreakdown, getKpis, getThroughput } from '../../reports/index.ts';
import { parseDuration } from '../../lib/duration.ts';
import { EstafetaError, invalidInput } from '../../lib/errors.ts';
import { claimKey, expireKeys, messageSchema, MISSING_FIELDS, releaseKey, renderTemplates, SEND_LIMITS, SendRateLimiter, type MessageInput, type MessageResult, type Rendered } from '../../streams/index.ts';
import { sendRefusal } from '../../auth/index.ts';
import type { ApiContext } from '../context.ts';
import { errorSchema, failuresSchema, idParams, kpisSchema } from '../schemas.ts';
import { batchResultSchema, messageSentSchema, missingFieldsSchema, streamCreateSchema, streamListSchema, streamSchema, streamWindowSchema } from '../stream-schemas.ts';
import { templateRoutes } from './templates.ts';
import { actor } from './deliveries.ts';

const idempotencyHeaders = z.object({ 'idempotency-key': z.string().min(1).max(200).optional().describe('a retried call with the same key answers the first answer and sends nothing again (kept 24 hours)') });

export async function messageStreamRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['streams'];
  const q = ctx.db.kysely;

  r.post('/streams', {
    schema: { tags, summary: 'Create a message stream (In progress at once: it takes messages until paused)', body: streamCreateSchema, response: { 201: streamSchema, 400: errorSchema } },
  }, async (req, reply) => reply.status(201).send(await createStream(ctx.db, req.body, ctx.defaults, actor(req))));

  r.get('/streams', { schema: { tags, summary: 'List message streams (an API key limited to streams sees its own)', response: { 200: streamListSchema } } }, async (req) => {
    const all = await listStreams(q);
    const only = req.user?.streams;
    return { streams: only ? all.filter((s) => only.includes(s.id)) : all };
  });

  r.get('/streams/:id', { schema: { tags, summary: 'A message stream', params: idParams, response: { 200: streamSchema, 404: errorSchema } } }, async (req) => toStreamView(await getStreamRow(q, req.params.id)));

  for (const [name, fn] of [['pause', pauseDelivery], ['resume', resumeDelivery]] as const) {
    r.post(`/streams/:id/${name}`, {
      schema: { tags, summary: name === 'pause' ? 'Pause the stream: its messages in the MTA are held, new ones refused' : 'Resume the stream', params: idParams, response: { 200: streamSchema, 404: errorSchema, 409: errorSchema } },
    }, async (req) => {
      await getStreamRow(q, req.params.id);
      await fn(ctx.db, req.params.id, actor(req));
      ctx.signals?.emit('delivery:changed', { deliveryId: req.params.id, action: name });
      return toStreamView(await getStreamRow(q, req.params.id));
    });
  }

  r.get('/streams/:id/kpis', {
    schema: { tags, summary: "The stream's KPIs since it was created (live)", params: idParams, response: { 200: kpisSchema, 404: errorSchema } },
  }, async (req) => {
    await getStreamRow(q, req.params.id);
    return getKpis(q, req.params.id);
  });

  r.get('/streams/:id/window', {
    schema: {
      tags,
      summary: 'Messages that became Sent or Failed in a recent window (a stream never finishes), per minute',
      params: idParams,
      querystring: z.object({ since: z.string().default('1h').describe('how far back, e.g. 15m, 1h, 7d') }),
      response: { 200: streamWindowSchema, 400: errorSchema, 404: errorSchema },
    },
  }, async (req) => {
    await getStreamRow(q, req.params.id);
    let ms: number;
    try {
      ms = parseDuration(req.query.since);
    } catch (err) {
      throw invalidInput(`since: ${(err as Error).message}`);
    }
    const now = Date.now();
    const from = Math.floor((now - ms) / 60_000) * 60_000;
    const minutes = (await getThroughput(q, req.params.id)).filter((p) => Date.parse(p.minute) >= from);
    const sent = minutes.reduce((n, p) => n + p.sent, 0);
    const failed = minutes.reduce((n, p) => n + p.failed, 0);
    return { from: new Date(from).toISOString(), to: new Date(now).toISOString(), sent, failed, failedPercent: sent + failed ? Math.round((failed / (sent + failed)) * 10000) / 100 : 0, minutes };
  });

  r.get('/streams/:id/failures', {
    schema: { tags, summary: "The stream's failures by type and reason, and by recipient domain", params: idParams, response: { 200: failuresSchema, 404: errorSchema } },
  }, async (req) => {
    await getStreamRow(q, req.params.id);
    return getFailureBreakdown(q, req.params.id);
  });

  let lastExpiry = 0;
  /** Runs a send under the call's idempotency key, if it has one. */
  async function idempotent<T>(req: FastifyRequest, key: string | undefined, status: number, run: (answer: ((response: T) => { principal: string; key: string; status: number; response: unknown; requestHash: string }) | null) => Promise<T>): Promise<{ status: number; body: unknown }> {
    if (!key) return { status, body: await run(null) };
    const principal = `${req.user?.kind ?? 'anonymous'}:${req.user?.id ?? 0}`;
    if (Date.now() - lastExpiry > 60_000) {
      lastExpiry = Date.now();
      await expireKeys(q);
    }
    const requestHash = createHash('sha256').update(JSON.stringify(req.body)).digest('base64url');
    const claim = await claimKey(q, principal, key);
    if (claim.kind === 'answered') {
      if (claim.requestHash && claim.requestHash !== requestHash) throw new EstafetaError('CONFLICT', 'this Idempotency-Key was used with another request in the last 24 hours: use a new key for a new message');
      return { status: claim.status, body: claim.response };
    }
    if (claim.kind === 'running') throw new EstafetaError('CONFLICT', 'a call with this Idempotency-Key is still running: retry in a moment');
    try {
      return { status, body: await run((response) => ({ principal, key, status, response, requestHash })) };
    } catch (err) {
      await releaseKey(q, principal, key).catch(() => {});
      throw err;
    }
  }

  const sender = () => {
    if (!ctx.streams) throw new EstafetaError('ILLEGAL_STATE', 'this process does not send messages (it runs without the api role\'s stream sender)');
    return ctx.streams;
  };

  const rate = ctx.config.api.sendRate;
  const limiter = new SendRateLimiter(rate);
  /** Takes the call's messages from its caller's bucket; false once it has answered 429. */
  const admitted = (req: FastifyRequest, reply: FastifyReply, messages: number): boolean => {
    const waitMs = limiter.take(`${req.user?.kind ?? 'anonymous'}:${req.user?.id ?? 0}`, messages);
    if (!waitMs) return true;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    reply.header('retry-after', String(seconds));
    void reply.status(429).send({ error: { code: 'RATE_LIMITED', message: `${req.user?.kind === 'api-key' ? 'this API key' : 'you'} may send ${rate.perSecond} messages a second (bursts of ${rate.burst}); ${messages > 1 ? `these ${messages} messages` : 'this message'} can go in ${seconds} s: retry then` } });
    return false;
  };

  /**
   * Per message, the checks made before sending: its template rendered, and, for an API key
   * limited to streams, its stream one of them. Each failure is the message's own.
   */
  async function prepare(req: FastifyRequest, inputs: MessageInput[]): Promise<Rendered[]> {
    const rendered = await renderTemplates(q, inputs);
    const user = req.user;
    if (!user?.streams) return rendered;
    const streams = new Map<string, { id: number; name: string } | null>();
    for (const [i, r] of rendered.entries()) {
      if (!r.ok) continue;
      const ref = String(r.input.stream);
      if (!streams.has(ref)) streams.set(ref, await getStreamRow(q, ref).then((row) => ({ id: Number(row.id), name: row.label }), () => null));
      const stream = streams.get(ref);
      // An unknown stream is answered by the sender, as for any key (404).
      const refused = stream ? sendRefusal(user, stream.id, stream.name) : null;
      if (refused) rendered[i] = { ok: false, error: { code: 'FORBIDDEN', message: refused } };
    }
    return rendered;
  }

  r.post('/messages', {
    bodyLimit: SEND_LIMITS.singleBodyBytes,
    schema: {
      tags,
      summary: 'Send one message to its recipients (one delivery log each) through a stream, from fields, a stored template or raw MIME; answered once it is durably in the MTA\'s spool',
      headers: idempotencyHeaders,
      body: messageSchema,
      response: { 200: messageSentSchema, 400: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 422: missingFieldsSchema, 429: errorSchema },
    },
  }, async (req, reply) => {
    if (!admitted(req, reply, 1)) return reply;
    const refused: { missing?: { message: string; fields: string[] } } = {};
    // Inside the key's claim, so that a retry is answered the first answer even if the template changed since.
    const out = await idempotent(req, req.headers['idempotency-key'], 200, async (answer) => {
      const [prepared] = await prepare(req, [req.body]);
      if (!prepared.ok) {
        if (prepared.error.code === MISSING_FIELDS) refused.missing = { message: prepared.error.message, fields: prepared.error.missing ?? [] };
        // Thrown so the key is given back: nothing was sent.
        throw new EstafetaError(prepared.error.code === MISSING_FIELDS ? 'INVALID_INPUT' : (prepared.error.code as never), prepared.error.message);
      }
      const [result] = await sender().send([prepared.input], answer ? ([res]: MessageResult[]) => (res.ok ? answer(publicResult(res)) : null) : undefined);
      if (!result.ok) throw new EstafetaError(result.error.code as never, result.error.message);
      return publicResult(result);
    }).catch((err: unknown) => {
      if (!refused.missing) throw err;
      return null;
    });
    if (!out) return reply.status(422).send({ error: { code: MISSING_FIELDS, message: refused.missing!.message, details: { missing: refused.missing!.fields } } } as never);
    return reply.status(out.status as 200).send(out.body as never);
  });

  r.post('/messages/batch', {
    bodyLimit: SEND_LIMITS.batchBodyBytes,
    schema: {
      tags,
      summary: `Send up to ${SEND_LIMITS.batchMessages} messages, each answered with its result or its own error (a bad message does not stop the others); the rate limit counts every message`,
      headers: idempotencyHeaders,
      body: z.object({ messages: z.array(z.unknown()).min(1).max(SEND_LIMITS.batchMessages).describe('each message as for POST /messages, checked on its own') }),
      response: { 200: batchResultSchema, 400: errorSchema, 429: errorSchema },
    },
  }, async (req, reply) => {
    // Each message is validated on its own, so one malformed message is its own error.
    const parsed = req.body.messages.map((m) => messageSchema.safeParse(m));
    const recipients = parsed.reduce((n, p) => n + (p.success ? p.data.to.length + p.data.cc.length + p.data.bcc.length : 0), 0);
    if (recipients > SEND_LIMITS.batchRecipients) throw invalidInput(`the batch has ${recipients} recipients; the limit is ${SEND_LIMITS.batchRecipients} per call`);
    if (!admitted(req, reply, parsed.length)) return reply;
    const out = await idempotent(req, req.headers['idempotency-key'], 200, async (answer) => {
      const valid = parsed.flatMap((p, i) => (p.success ? [{ i, m: p.data }] : []));
      const prepared = await prepare(req, valid.map((v) => v.m));
      const ready = valid.flatMap((v, k) => (prepared[k].ok ? [{ i: v.i, m: (prepared[k] as Extract<Rendered, { ok: true }>).input }] : []));
      const toBody = (sent: MessageResult[]) => {
        const results = parsed.map((p, i) => {
          if (!p.success) return { ok: false as const, error: { code: 'INVALID_INPUT', message: p.error.issues.map((x) => `${x.path.join('.') || 'message'}: ${x.message}`).join('; ') } };
          const early = prepared[valid.findIndex((v) => v.i === i)];
          if (!early.ok) return { ok: false as const, error: early.error };
          const res = sent[ready.findIndex((v) => v.i === i)];
          return res.ok ? { ok: true as const, ...publicResult(res) } : res;
        });
        return { results, accepted: results.filter((x) => x.ok).length, failed: results.filter((x) => !x.ok).length };
      };
      const sent = await sender().send(ready.map((v) => v.m), answer ? (res: MessageResult[]) => answer(toBody(res)) : undefined);
      return toBody(sent);
    });
    return reply.status(out.status as 200).send(out.body as never);
  });

  await templateRoutes(app, ctx);
}

function publicResult(r: Extract<MessageResult, { ok: true }>) {
  return { stream: r.stream, messageIds: r.messageIds, logIds: r.logIds, recipients: r.recipients };
}
