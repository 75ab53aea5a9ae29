/**
 * What an API key limited to streams may do, as data: the routes it may use, each with
 * where its stream is. Sending names the stream in the body (the send route checks each
 * message: a message to another stream is refused with its reason); a stream's own routes
 * name it in the path; a log is read when its delivery is one of the key's streams (by id,
 * or by Message-ID: the delivery the Message-ID names, which the route checks again). Any
 * other route is refused, whatever the key's role, so a route added later stays closed to
 * limited keys until it is listed here. Matched on the route's pattern, never the raw URL.
 */
import type { Principal } from './roles.ts';

type Where = 'body' | 'path' | 'log' | 'message-id' | 'none';

/** Route pattern (method and URL as registered) → where its stream is. */
const SCOPED_ROUTES: Record<string, Where> = {
  'POST /api/v1/messages': 'body',
  'POST /api/v1/messages/batch': 'body',
  // The list shows the key's streams only (routes/streams.ts).
  'GET /api/v1/streams': 'none',
  'GET /api/v1/streams/:id': 'path',
  'GET /api/v1/streams/:id/kpis': 'path',
  'GET /api/v1/streams/:id/window': 'path',
  'GET /api/v1/streams/:id/failures': 'path',
  'GET /api/v1/streams/:id/logs': 'path',
  'GET /api/v1/streams/:id/report': 'path',
  'GET /api/v1/logs/:id': 'log',
  'GET /api/v1/logs/by-message-id': 'message-id',
  'GET /api/v1/templates': 'none',
  'GET /api/v1/templates/:id': 'none',
  'GET /api/v1/auth/me': 'none',
};

export function streamsInWords(streams: number[]): string {
  return streams.length === 1 ? `stream ${streams[0]}` : `streams ${streams.join(', ')}`;
}

export interface ScopeLookups {
  /** The delivery a log belongs to (null: no such log, which the route then answers 404). */
  logStream: (logId: number) => Promise<number | null>;
  /** The delivery a Message-ID names, when it is one of this instance's (null: the route answers 404). */
  messageIdStream: (messageId: string) => number | null;
}

/** Null when a limited key may use the route with these parameters and query, else why not. */
export async function streamScopeRefusal(user: Principal, method: string, url: string, params: Record<string, string>, query: Record<string, unknown>, lookups: ScopeLookups): Promise<string | null> {
  const streams = user.streams;
  if (!streams) return null;
  const limited = `this API key is limited to ${streamsInWords(streams)}`;
  const where = SCOPED_ROUTES[`${method === 'HEAD' ? 'GET' : method} ${url}`];
  if (!where) return `${limited}: it may send to them and read their messages, not use ${method} ${url}`;
  if (where === 'path') {
    const id = Number(params.id);
    return streams.includes(id) ? null : `${limited}, not stream ${params.id}`;
  }
  if (where === 'log') {
    const id = Number(params.id);
    if (!Number.isSafeInteger(id)) return null;
    const stream = await lookups.logStream(id);
    return stream === null || streams.includes(stream) ? null : `${limited}; log ${id} is not a message of them`;
  }
  if (where === 'message-id') {
    const stream = typeof query.messageId === 'string' ? lookups.messageIdStream(query.messageId) : null;
    return stream === null || streams.includes(stream) ? null : `${limited}; this Message-ID is not one of their messages`;
  }
  return null;
}

/** Null when the key may send to the stream (its id), else why not. */
export function sendRefusal(user: Principal | undefined, streamId: number, streamName: string): string | null {
  if (!user?.streams || user.streams.includes(streamId)) return null;
  return `this API key is limited to ${streamsInWords(user.streams)}: it may not send to the stream "${streamName}" (${streamId})`;
}
