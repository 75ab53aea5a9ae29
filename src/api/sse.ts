/**
 * Server-sent events: opens an event stream on a request, feeds it from a shared poll, and
 * closes every open stream when the server shuts down (an open stream would otherwise keep
 * `close()` waiting forever). Polling the database, rather than listening to in-process
 * signals, is what lets a dashboard served here follow work done by feedback or MTA
 * processes on other machines sharing the same PostgreSQL.
 *
 * Streams that show the same thing share one poll (one per key: a delivery, a list page),
 * fanned out to every subscriber, so N viewers cost one query, not N. Streams are capped
 * per principal and in all: past a cap, a new one is refused with 429 before it opens.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface SseStream {
  send(event: string, data: unknown): void;
  /**
   * Follows the shared poll named `key`: `fetch` runs now and then every `everyMs`, never
   * two at once, for all streams following the key; each value goes to `onValue` of each.
   * The first stream to follow a key gives the `fetch` that every later one shares.
   */
  follow<T>(key: string, fetch: () => Promise<T>, everyMs: number, onValue: (value: T) => void): void;
  readonly closed: boolean;
}

export interface StreamLimits {
  /** Streams one user or API key may hold open (a browser tab holds one). */
  perPrincipal: number;
  /** Streams open in this process. */
  total: number;
}

export const STREAM_LIMITS: StreamLimits = { perPrincipal: 20, total: 500 };

const HEARTBEAT_MS = 15_000;
const RETRY_AFTER_S = 10;

interface SharedPoll {
  listeners: Set<(value: unknown) => void>;
  last?: { value: unknown };
  timer?: NodeJS.Timeout;
}

/** Pushes a 429 through the API's error handler ({"error": {...}}), before the stream opens. */
function tooManyStreams(reply: FastifyReply, message: string): Error {
  reply.header('retry-after', String(RETRY_AFTER_S));
  return Object.assign(new Error(message), { statusCode: 429, code: 'TOO_MANY_STREAMS' });
}

export function sseRegistry(app: FastifyInstance, limits: StreamLimits = STREAM_LIMITS) {
  const open = new Set<() => void>();
  const perPrincipal = new Map<string, number>();
  const polls = new Map<string, SharedPoll>();
  app.addHook('preClose', async () => {
    for (const close of [...open]) close();
  });

  function subscribe(key: string, fetch: () => Promise<unknown>, everyMs: number, listener: (value: unknown) => void, log: FastifyRequest['log']): () => void {
    let poll = polls.get(key);
    if (!poll) {
      const p: SharedPoll = { listeners: new Set() };
      polls.set(key, (poll = p));
      const run = async () => {
        try {
          const value = await fetch();
          p.last = { value };
          for (const l of [...p.listeners]) l(value);
        } catch (err) {
          log.warn({ err }, 'live stream poll failed');
        }
        if (polls.get(key) === p) p.timer = setTimeout(run, everyMs);
      };
      void run();
    } else if (poll.last) {
      listener(poll.last.value);
    }
    poll.listeners.add(listener);
    const p = poll;
    return () => {
      p.listeners.delete(listener);
      if (p.listeners.size || polls.get(key) !== p) return;
      clearTimeout(p.timer);
      polls.delete(key);
    };
  }

  function openStream(req: FastifyRequest, reply: FastifyReply): SseStream {
    const who = req.user ? `${req.user.kind}:${req.user.id}` : `ip:${req.ip}`;
    const mine = perPrincipal.get(who) ?? 0;
    if (mine >= limits.perPrincipal) throw tooManyStreams(reply, `too many live streams open for you (${limits.perPrincipal}); close some dashboard tabs and try again`);
    if (open.size >= limits.total) throw tooManyStreams(reply, `too many live streams open on this server (${limits.total}); try again later`);
    perPrincipal.set(who, mine + 1);

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies such as nginx buffer responses unless told not to.
      'x-accel-buffering': 'no',
      // A hijacked reply skips the onSend hook that sets these on every other response.
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    // Reconnect quickly after a restart: the browser's EventSource retries by itself.
    res.write('retry: 2000\n\n');
    let closed = false;
    const unsubscribe: (() => void)[] = [];
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      for (const u of unsubscribe) u();
      open.delete(close);
      const left = (perPrincipal.get(who) ?? 1) - 1;
      if (left > 0) perPrincipal.set(who, left);
      else perPrincipal.delete(who);
      res.end();
    };
    open.add(close);
    req.raw.on('close', close);

    return {
      get closed() {
        return closed;
      },
      send(event, data) {
        if (!closed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      },
      follow(key, fetch, everyMs, onValue) {
        if (closed) return;
        unsubscribe.push(subscribe(key, fetch, everyMs, (v) => closed || onValue(v as never), req.log));
      },
    };
  }

  /** Streams open and shared polls running, for /metrics. */
  const stats = () => ({ streams: open.size, polls: polls.size });
  return Object.assign(openStream, { stats });
}
