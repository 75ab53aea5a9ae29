/**
 * The webhook tables: endpoints (created with a secret shown once and kept sealed with the
 * instance secret, listed, enabled again, deleted, their cursor moved back for a replay)
 * and their attempts (the last 1,000 per endpoint). The dispatcher's claims, successes and
 * failures are here too, so that every write of these tables is in this file.
 */
import { randomBytes } from 'node:crypto';
import type { Q } from '../db/index.ts';
import { open, seal } from '../lib/sealed.ts';
import { invalidInput, notFound } from '../lib/errors.ts';
import { EVENT_TYPES, type EventType } from '../events/index.ts';

const SEAL_PURPOSE = 'webhook-secret';
export const ATTEMPTS_KEPT = 1000;

export interface EndpointView {
  id: number;
  url: string;
  /** null: every event type. */
  eventTypes: EventType[] | null;
  deliveryId: number | null;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: string;
  createdBy: string;
  /** The id of the last event delivered (or passed over by the filters). */
  cursor: number;
  failures: number;
  failingSince: string | null;
  nextAttemptAt: string | null;
  /** Events written after the cursor, not delivered yet (before the filters: an upper bound). */
  backlog: number;
}

export interface AttemptView {
  id: number;
  firstEventId: number | null;
  lastEventId: number | null;
  events: number;
  attempt: number;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  at: string;
}

/** An endpoint as the dispatcher needs it, secret opened. */
export interface EndpointTarget {
  id: number;
  url: string;
  secret: string;
  eventTypes: Set<string> | null;
  deliveryId: number | null;
  cursor: number;
  failures: number;
  failingSince: number | null;
}

type Row = {
  id: number; url: string; secret: string; event_types: string | null; delivery_id: number | null; enabled: number; disabled_reason: string | null;
  created_at: number; created_by: string; cursor: number; failures: number; failing_since: number | null; next_attempt_at: number;
};

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
const num = (v: number | null) => (v === null ? null : Number(v));

function toView(r: Row, lastEventId: number): EndpointView {
  return {
    id: Number(r.id),
    url: r.url,
    eventTypes: r.event_types ? (r.event_types.split(',') as EventType[]) : null,
    deliveryId: num(r.delivery_id),
    enabled: Number(r.enabled) === 1,
    disabledReason: r.disabled_reason,
    createdAt: iso(r.created_at)!,
    createdBy: r.created_by,
    cursor: Number(r.cursor),
    failures: Number(r.failures),
    failingSince: iso(r.failing_since),
    nextAttemptAt: Number(r.failures) > 0 ? iso(r.next_attempt_at) : null,
    backlog: Math.max(0, lastEventId - Number(r.cursor)),
  };
}

async function lastEventId(q: Q): Promise<number> {
  const last = await q.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
  return Number(last?.id ?? 0);
}

/**
 * The URL as shown to a caller who is not an admin: its origin only, the path and query
 * replaced by "…", since receivers often put a token there (https://hooks.example/T0/B0/xyz,
 * ?token=…).
 */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname === '/' && !u.search && !u.hash ? `${u.origin}/` : `${u.origin}/…`;
  } catch {
    return '…';
  }
}

/** http or https, with a host; anything else is refused with the reason. */
export function checkUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalidInput(`url must be an http or https URL: "${url.slice(0, 200)}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalidInput(`url must be an http or https URL, not ${u.protocol.replace(':', '')}`);
  if (u.username || u.password) throw invalidInput('url must not hold a user name or password: the signature authenticates Estafeta');
  return u.toString();
}

export interface NewEndpoint {
  url: string;
  eventTypes?: string[] | null;
  deliveryId?: number | null;
  createdBy: string;
}

/**
 * Creates an endpoint that receives the events written from now on (a replay sends older
 * ones). Returns its view and its secret, which is never shown again.
 */
export async function createEndpoint(q: Q, instanceSecret: string, input: NewEndpoint): Promise<{ endpoint: EndpointView; secret: string }> {
  const url = checkUrl(input.url);
  const types = input.eventTypes?.length ? [...new Set(input.eventTypes)] : null;
  const unknown = types?.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t)) ?? [];
  if (unknown.length) throw invalidInput(`unknown event type ${unknown.join(', ')}: the types are ${EVENT_TYPES.join(', ')}`);
  const secret = `whsec_${randomBytes(24).toString('base64url')}`;
  const last = await q.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
  const row = await q
    .insertInto('webhook_endpoints')
    .values({ url, secret: '', event_types: types?.join(',') ?? null, delivery_id: input.deliveryId ?? null, enabled: 1, created_at: Date.now(), created_by: input.createdBy, cursor: Number(last?.id ?? 0), failures: 0, next_attempt_at: 0, lease_until: 0 })
    .returning('id')
    .executeTakeFirstOrThrow();
  const id = Number(row.id);
  // Sealed with the row's id as context, so a sealed secret copied to another row does not open.
  await q.updateTable('webhook_endpoints').set({ secret: seal(instanceSecret, SEAL_PURPOSE, `webhook:${id}`, secret) }).where('id', '=', id).execute();
  return { endpoint: await getEndpoint(q, id), secret };
}

export async function listEndpoints(q: Q): Promise<EndpointView[]> {
  const last = await lastEventId(q);
  return (await q.selectFrom('webhook_endpoints').selectAll().orderBy('id').execute()).map((r) => toView(r as Row, last));
}

export async function getEndpoint(q: Q, id: number): Promise<EndpointView> {
  const r = await q.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r) throw notFound(`webhook endpoint ${id}`);
  return toView(r as Row, await lastEventId(q));
}

export async function deleteEndpoint(q: Q, id: number): Promise<void> {
  const r = await q.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
  if (!Number(r.numDeletedRows)) throw notFound(`webhook endpoint ${id}`);
  await q.deleteFrom('webhook_attempts').where('endpoint_id', '=', id).execute();
}

/** Enabled again (after it was disabled): tried at once, with a fresh retry horizon. */
export async function enableEndpoint(q: Q, id: number): Promise<EndpointView> {
  const r = await q.updateTable('webhook_endpoints').set({ enabled: 1, disabled_reason: null, failures: 0, failing_since: null, next_attempt_at: 0 }).where('id', '=', id).executeTakeFirst();
  if (!Number(r.numUpdatedRows)) throw notFound(`webhook endpoint ${id}`);
  return getEndpoint(q, id);
}

/**
 * Replay: the cursor goes back to just before the first event that happened at or after
 * `from`, so that event and every later one are sent again, in order.
 */
export async function replayEndpoint(q: Q, id: number, from: number): Promise<{ endpoint: EndpointView; fromEventId: number | null }> {
  await getEndpoint(q, id);
  const first = await q.selectFrom('events').select((eb) => eb.fn.min('id').as('id')).where('occurred_at', '>=', from).executeTakeFirst();
  const firstId = first?.id === null || first?.id === undefined ? null : Number(first.id);
  const last = await q.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
  const cursor = firstId === null ? Number(last?.id ?? 0) : firstId - 1;
  await q.updateTable('webhook_endpoints').set({ cursor, next_attempt_at: 0 }).where('id', '=', id).execute();
  return { endpoint: await getEndpoint(q, id), fromEventId: firstId };
}

export async function recentAttempts(q: Q, endpointId: number, limit = 50): Promise<AttemptView[]> {
  const rows = await q.selectFrom('webhook_attempts').selectAll().where('endpoint_id', '=', endpointId).orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({
    id: Number(r.id),
    firstEventId: num(r.first_event_id),
    lastEventId: num(r.last_event_id),
    events: Number(r.events),
    attempt: Number(r.attempt),
    statusCode: num(r.status_code),
    latencyMs: Number(r.latency_ms),
    error: r.error,
    at: iso(r.at)!,
  }));
}

/** The secret of an endpoint, opened; null when the instance secret is not the one it was sealed with. */
export async function endpointTarget(q: Q, instanceSecret: string, id: number): Promise<EndpointTarget | null> {
  const r = await q.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r) throw notFound(`webhook endpoint ${id}`);
  const secret = open(instanceSecret, SEAL_PURPOSE, `webhook:${Number(r.id)}`, r.secret);
  if (secret === null) return null;
  return {
    id: Number(r.id),
    url: r.url,
    secret,
    eventTypes: r.event_types ? new Set(r.event_types.split(',')) : null,
    deliveryId: num(r.delivery_id),
    cursor: Number(r.cursor),
    failures: Number(r.failures),
    failingSince: num(r.failing_since),
  };
}

/**
 * Enabled endpoints whose next attempt is due, that no live process holds, and that have
 * events after their cursor (so an idle endpoint costs a read per poll, not a write).
 */
export async function dueEndpointIds(q: Q, now: number): Promise<number[]> {
  const last = await q.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
  const rows = await q
    .selectFrom('webhook_endpoints')
    .select('id')
    .where('enabled', '=', 1)
    .where('next_attempt_at', '<=', now)
    .where('lease_until', '<', now)
    .where('cursor', '<', Number(last?.id ?? 0))
    .orderBy('id')
    .execute();
  return rows.map((r) => Number(r.id));
}

/** Takes an endpoint for `owner` until `until`; false when another process holds it or it is not due. */
export async function claimEndpoint(q: Q, id: number, owner: string, now: number, until: number): Promise<boolean> {
  const r = await q
    .updateTable('webhook_endpoints')
    .set({ lease_owner: owner, lease_until: until })
    .where('id', '=', id)
    .where('enabled', '=', 1)
    .where('next_attempt_at', '<=', now)
    .where('lease_until', '<', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function releaseEndpoint(q: Q, id: number, owner: string): Promise<void> {
  await q.updateTable('webhook_endpoints').set({ lease_owner: null, lease_until: 0 }).where('id', '=', id).where('lease_owner', '=', owner).execute();
}

/**
 * The cursor moves past events delivered (or passed over by the filters) and a failing
 * streak ends. Compare-and-set on the cursor read at the claim: a replay that moved it back
 * meanwhile wins, and the replayed events are sent again (at least once).
 */
export async function advanceCursor(q: Q, id: number, owner: string, from: number, to: number): Promise<void> {
  await q.updateTable('webhook_endpoints').set({ cursor: to, failures: 0, failing_since: null, next_attempt_at: 0 }).where('id', '=', id).where('lease_owner', '=', owner).where('cursor', '=', from).execute();
}

export async function recordFailure(q: Q, id: number, failures: number, failingSince: number, nextAttemptAt: number): Promise<void> {
  await q.updateTable('webhook_endpoints').set({ failures, failing_since: failingSince, next_attempt_at: nextAttemptAt }).where('id', '=', id).execute();
}

export async function disableEndpoint(q: Q, id: number, reason: string): Promise<void> {
  await q.updateTable('webhook_endpoints').set({ enabled: 0, disabled_reason: reason.slice(0, 1000) }).where('id', '=', id).execute();
}

/** An attempt as the dispatcher records it: the view's fields, for an endpoint, at epoch ms. */
export type NewAttempt = Omit<AttemptView, 'id' | 'at'> & { endpointId: number; at: number };

/** Records an attempt and forgets the ones past the last 1,000 of the endpoint. */
export async function recordAttempt(q: Q, a: NewAttempt): Promise<void> {
  await q
    .insertInto('webhook_attempts')
    .values({ endpoint_id: a.endpointId, first_event_id: a.firstEventId, last_event_id: a.lastEventId, events: a.events, attempt: a.attempt, status_code: a.statusCode, latency_ms: Math.round(a.latencyMs), error: a.error?.slice(0, 500) ?? null, at: a.at })
    .execute();
  const edge = await q.selectFrom('webhook_attempts').select('id').where('endpoint_id', '=', a.endpointId).orderBy('id', 'desc').offset(ATTEMPTS_KEPT).limit(1).executeTakeFirst();
  if (edge) await q.deleteFrom('webhook_attempts').where('endpoint_id', '=', a.endpointId).where('id', '<=', Number(edge.id)).execute();
}

/** Keeps the lease while a process is still posting (a long backlog). */
export async function renewLease(q: Q, id: number, owner: string, until: number): Promise<void> {
  await q.updateTable('webhook_endpoints').set({ lease_until: until }).where('id', '=', id).where('lease_owner', '=', owner).execute();
}
