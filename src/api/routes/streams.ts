/**
 * Message streams and the send API. Streams: create (operator), list, read, pause and
 * resume, KPIs (the delivery KPIs of the stream's row, since its creation), a recent window
 * (outcomes per minute, as the throughput chart counts them), failures; their logs are GET
 * /streams/:id/logs (logs.ts, the same list as a delivery's). Send: POST /messages (one
 * message, one log per recipient) and POST /messages/batch (up to 500, each answered on its
 * own); an `Idempotency-Key` header makes a retried call answer what the first answered,
 * sending nothing again. The answer comes after the messages are durably in the spool.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createStream, getStreamRow, listStreams, pauseDelivery, resumeDelivery, toStreamView } from '../../deliveries/index.ts';
import { getFailureBreakdown, getKpis, getThroughput } from '../../reports/index.ts';
import { parseDuration } from '../../lib/duration.ts';
import { EstafetaError, invalidInput } from '../../lib/errors.ts';
import { claimKey, expireKeys, messageSchema, releaseKey, SEND_LIMITS, type MessageResult } from '../../streams/index.ts';
import type { ApiContext } from '../context.ts';
import { errorSchema, failuresSchema, idParams, kpisSchema } from '../schemas.ts';
import { batchResultSchema, messageSentSchema, streamCreateSchema, streamListSchema, streamSchema, streamWindowSchema } from '../stream-schemas.ts';
import { actor } from './deliveries.ts';

const idempotencyHeaders = z.object({ 'idempotency-key': z.string().min(1).max(200).optional().describe('a retried call with the same key answers the first answer and sends nothing again (kept 24 hours)') });

export async function messageStreamRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['streams'];
  const q = ctx.db.kysely;

  r.post('/streams', {
    schema: { tags, summary: 'Create a message stream (In progress at once: it takes messages until paused)', body: streamCreateSchema, response: { 201: streamSchema, 400: errorSchema } },
  }, async (req, reply) => reply.status(201).send(await createStream(ctx.db, req.body, ctx.defaults, actor(req))));

  r.get('/streams', { schema: { tags, summary: 'List message streams', response: { 200: streamListSchema } } }, async () => ({ streams: await listStreams(q) }));

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

  r.post('/messages', {
    bodyLimit: SEND_LIMITS.singleBodyBytes,
    schema: {
      tags,
      summary: 'Send one message to its recipients (one delivery log each) through a stream; answered once it is durably in the MTA\'s spool',
      headers: idempotencyHeaders,
      body: messageSchema,
      response: { 200: messageSentSchema, 400: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema },
    },
  }, async (req, reply) => {
    const out = await idempotent(req, req.headers['idempotency-key'], 200, async (answer) => {
      const [result] = await sender().send([req.body], answer ? ([res]: MessageResult[]) => (res.ok ? answer(publicResult(res)) : null) : undefined);
      if (!result.ok) throw new EstafetaError(result.error.code as never, result.error.message);
      return publicResult(result);
    });
    return reply.status(out.status as 200).send(out.body as never);
  });

  r.post('/messages/batch', {
    bodyLimit: SEND_LIMITS.batchBodyBytes,
    schema: {
      tags,
      summary: `Send up to ${SEND_LIMITS.batchMessages} messages, each answered with its result or its own error (a bad message does not stop the others)`,
      headers: idempotencyHeaders,
      body: z.object({ messages: z.array(z.unknown()).min(1).max(SEND_LIMITS.batchMessages) }),
      response: { 200: batchResultSchema, 400: errorSchema },
    },
  }, async (req, reply) => {
    // Each message is validated on its own, so one malformed message is its own error.
    const parsed = req.body.messages.map((m) => messageSchema.safeParse(m));
    const recipients = parsed.reduce((n, p) => n + (p.success ? p.data.to.length + p.data.cc.length + p.data.bcc.length : 0), 0);
    if (recipients > SEND_LIMITS.batchRecipients) throw invalidInput(`the batch has ${recipients} recipients; the limit is ${SEND_LIMITS.batchRecipients} per call`);
    const out = await idempotent(req, req.headers['idempotency-key'], 200, async (answer) => {
      const valid = parsed.flatMap((p, i) => (p.success ? [{ i, m: p.data }] : []));
      const toBody = (sent: MessageResult[]) => {
        const results = parsed.map((p, i) => {
          if (!p.success) return { ok: false as const, error: { code: 'INVALID_INPUT', message: p.error.issues.map((x) => `${x.path.join('.') || 'message'}: ${x.message}`).join('; ') } };
          const res = sent[valid.findIndex((v) => v.i === i)];
          return res.ok ? { ok: true as const, ...publicResult(res) } : res;
        });
        return { results, accepted: results.filter((x) => x.ok).length, failed: results.filter((x) => !x.ok).length };
      };
      const sent = await sender().send(valid.map((v) => v.m), answer ? (res: MessageResult[]) => answer(toBody(res)) : undefined);
      return toBody(sent);
    });
    return reply.status(out.status as 200).send(out.body as never);
  });
}

function publicResult(r: Extract<MessageResult, { ok: true }>) {
  return { stream: r.stream, messageIds: r.messageIds, logIds: r.logIds, recipients: r.recipients };
}
