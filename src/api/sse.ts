/**
 * Server-sent events: opens an event stream on a request, runs a poll function on a timer,
 * and closes every open stream when the server shuts down (an open stream would otherwise
 * keep `close()` waiting forever). Polling the database, rather than listening to
 * in-process signals, is what lets a dashboard served here follow work done by feedback or
 * MTA processes on other machines sharing the same PostgreSQL.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface SseStream {
  send(event: string, data: unknown): void;
  /** Runs `tick` now and then every `everyMs`, never two at once, until the stream closes. */
  poll(tick: () => Promise<void>, everyMs: number): void;
  readonly closed: boolean;
}

const HEARTBEAT_MS = 15_000;

export function sseRegistry(app: FastifyInstance) {
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of [...open]) close();
  });

  return function openStream(req: FastifyRequest, reply: FastifyReply): SseStream {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies such as nginx buffer responses unless told not to.
      'x-accel-buffering': 'no',
    });
    // Reconnect quickly after a restart: the browser's EventSource retries by itself.
    res.write('retry: 2000\n\n');
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      clearTimeout(timer);
      open.delete(close);
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
      poll(tick, everyMs) {
        const run = async () => {
          if (closed) return;
          try {
            await tick();
          } catch (err) {
            req.log.warn({ err }, 'live stream poll failed');
          }
          if (!closed) timer = setTimeout(run, everyMs);
        };
        void run();
      },
    };
  };
}
