/**
 * Event documents: what a webhook receiver gets for one event, a versioned JSON object
 * built from the event, its delivery log and its delivery. Reads only; the fields are
 * public and a released field never changes meaning (a new meaning is a new version).
 */
import type { Q } from '../db/index.ts';
import { LOG_STATUS_NAMES, failureReasonFromCode, failureTypeFromCode, type LogStatus } from '../deliveries/index.ts';
import { messageIdFor } from '../mail/verp.ts';
import { domainOf } from '../mail/address.ts';

export const DOCUMENT_VERSION = 1;

export interface EventDocument {
  version: 1;
  /** The event's id: increasing, the same on a retry or a replay (receivers deduplicate by it). */
  id: number;
  type: string;
  occurredAt: string;
  logId: number | null;
  deliveryId: number | null;
  recipient: string | null;
  messageId: string | null;
  /** The delivery log's state when the document was built (final for the events sent so far). */
  status: string | null;
  failureType: string | null;
  failureReason: string | null;
  /** What this event itself says: the SMTP reply, the attempt, the bounce mail's kind. */
  reply: string | null;
  attempt: number | null;
  category: string | null;
  mx: string | null;
  bounce: { kind: string | null; feedbackType: string | null } | null;
  /** Opened and clicked: the link followed, and whether a machine made the request. */
  url: string | null;
  machine: string | null;
  /** For a message sent to a stream (send API, SMTP submission): the stream's id and name, the message's tags and metadata. */
  stream: { id: number; name: string } | null;
  tags: string[] | null;
  metadata: Record<string, unknown> | null;
}

export interface RawEvent {
  id: number;
  type: string;
  log_id: number | null;
  delivery_id: number | null;
  occurred_at: number;
  payload: string;
  note: string | null;
}

const BOUNCE_TYPES = new Set(['bounced-async', 'complained', 'auto-replied']);

/** One document per event, in the events' order. */
export async function buildDocuments(q: Q, secret: string, events: RawEvent[]): Promise<EventDocument[]> {
  const logIds = [...new Set(events.flatMap((e) => (e.log_id === null ? [] : [Number(e.log_id)])))];
  const logs = new Map<number, { address: string; status: number; failure_type: number; failure_reason: number | null; delivery_id: number; message_id: string | null; from_address: string; kind: string; label: string; data: string | null }>();
  for (let i = 0; i < logIds.length; i += 1000) {
    const rows = await q
      .selectFrom('delivery_logs as l')
      .innerJoin('deliveries as d', 'd.id', 'l.delivery_id')
      // A stream message's target row holds its tags and metadata.
      .leftJoin('delivery_targets as t', (j) => j.onRef('t.delivery_id', '=', 'l.delivery_id').onRef('t.row_no', '=', 'l.row_no').on('d.kind', '=', 'stream'))
      .select(['l.id', 'l.address', 'l.status', 'l.failure_type', 'l.failure_reason', 'l.delivery_id', 'l.message_id', 'd.from_address', 'd.kind', 'd.label', 't.data'])
      .where('l.id', 'in', logIds.slice(i, i + 1000))
      .execute();
    for (const r of rows) logs.set(Number(r.id), { ...r, delivery_id: Number(r.delivery_id) });
  }
  const payloads = events.map(payloadOf);
  const urls = await linkUrls(q, events, payloads);
  return events.map((e, i) => toDocument(secret, e, payloads[i], urls, e.log_id === null ? undefined : logs.get(Number(e.log_id))));
}

function payloadOf(e: RawEvent): Record<string, unknown> {
  try {
    return JSON.parse(e.payload) ?? {};
  } catch {
    // A payload that does not parse still gives a document, without its details.
    return {};
  }
}

/** The URLs of the delivery links clicked (a click event carries its URL only when the link is personalized), by `delivery:link`. */
async function linkUrls(q: Q, events: RawEvent[], payloads: Record<string, unknown>[]): Promise<Map<string, string>> {
  const wanted = new Map<number, Set<number>>();
  events.forEach((e, i) => {
    const linkId = Number(payloads[i].linkId);
    if (e.type !== 'clicked' || typeof payloads[i].url === 'string' || e.delivery_id === null || !Number.isSafeInteger(linkId)) return;
    const set = wanted.get(Number(e.delivery_id)) ?? new Set<number>();
    wanted.set(Number(e.delivery_id), set.add(linkId));
  });
  const urls = new Map<string, string>();
  for (const [deliveryId, linkIds] of wanted) {
    const rows = await q.selectFrom('delivery_links').select(['link_id', 'url']).where('delivery_id', '=', deliveryId).where('link_id', 'in', [...linkIds]).execute();
    for (const r of rows) urls.set(`${deliveryId}:${r.link_id}`, r.url);
  }
  return urls;
}

function toDocument(secret: string, e: RawEvent, p: Record<string, unknown>, urls: Map<string, string>, log: { address: string; status: number; failure_type: number; failure_reason: number | null; delivery_id: number; message_id: string | null; from_address: string; kind: string; label: string; data: string | null } | undefined): EventDocument {
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const qualification = (p.qualification ?? null) as { category?: string } | null;
  const machine = e.note?.startsWith('machine:') ? e.note.slice('machine:'.length).trim() : null;
  const logId = e.log_id === null ? null : Number(e.log_id);
  const target = log?.kind === 'stream' && log.data ? (JSON.parse(log.data) as { tags?: string[]; metadata?: Record<string, unknown> }) : null;
  return {
    version: DOCUMENT_VERSION,
    id: Number(e.id),
    type: e.type,
    occurredAt: new Date(Number(e.occurred_at)).toISOString(),
    logId,
    deliveryId: e.delivery_id === null ? null : Number(e.delivery_id),
    recipient: log?.address ?? str(p.address),
    messageId: log && logId !== null ? log.message_id ?? messageIdFor(secret, log.delivery_id, logId, domainOf(log.from_address)) : null,
    status: log ? (LOG_STATUS_NAMES[log.status as LogStatus] ?? null) : null,
    failureType: log ? failureTypeFromCode(Number(log.failure_type)) : null,
    failureReason: log ? failureReasonFromCode(log.failure_reason === null ? null : Number(log.failure_reason)) : null,
    reply: str(p.reply),
    attempt: typeof p.attempt === 'number' ? p.attempt : null,
    category: qualification?.category ?? null,
    mx: str(p.mx),
    bounce: BOUNCE_TYPES.has(e.type) ? { kind: str(p.mailKind), feedbackType: str(p.feedbackType) } : null,
    url: e.type === 'clicked' ? (str(p.url) ?? urls.get(`${e.delivery_id}:${Number(p.linkId)}`) ?? null) : null,
    machine: e.type === 'opened' || e.type === 'clicked' ? machine : null,
    stream: log?.kind === 'stream' ? { id: log.delivery_id, name: log.label } : null,
    tags: target ? (target.tags ?? []) : null,
    metadata: target ? (target.metadata ?? {}) : null,
  };
}
