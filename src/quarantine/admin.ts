/**
 * Operating the quarantine: list and filter entries, release one address, release in bulk by
 * domain and time window (Campaign's documented recovery after a provider outage, with a dry
 * run that says how many first), add known-bad addresses, and the automatic releases
 * Campaign's cleanup does (With errors after 10 days without error, Mailbox full after 30).
 * Quarantine and Denylisted are never released automatically.
 */
import { sql, type Selectable } from 'kysely';
import type { Q, QuarantineTable } from '../db/index.ts';
import { failureReasonCode, failureReasonFromCode, failureTypeFromCode } from '../deliveries/log-status.ts';
import { invalidInput, notFound } from '../lib/errors.ts';
import { checkAddress } from '../mail/address.ts';
import type { FailureReason } from '../mail/failure.ts';
import type { QuarantinePolicy } from './rules.ts';
import { QUARANTINE_STATUS_LABELS, QUARANTINE_STATUS_NAMES, QuarantineStatus } from './status.ts';
import { quarantineKey } from './store.ts';
import { auditQuarantine } from './audit.ts';

export interface QuarantineView {
  address: string;
  domain: string;
  status: string;
  statusLabel: string;
  failureType: string | null;
  failureReason: string | null;
  errorCount: number;
  lastErrorAt: string | null;
  errorText: string | null;
  deliveryId: number | null;
  createdAt: string;
  updatedAt: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export function toQuarantineView(r: Selectable<QuarantineTable>): QuarantineView {
  return {
    address: r.address,
    domain: r.domain,
    status: QUARANTINE_STATUS_NAMES[r.status as QuarantineStatus],
    statusLabel: QUARANTINE_STATUS_LABELS[r.status as QuarantineStatus],
    failureType: failureTypeFromCode(r.failure_type),
    failureReason: failureReasonFromCode(r.failure_reason),
    errorCount: r.error_count,
    lastErrorAt: iso(r.last_error_at),
    errorText: r.error_text,
    deliveryId: r.delivery_id === null ? null : Number(r.delivery_id),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

export interface QuarantineFilter {
  statuses?: QuarantineStatus[];
  domain?: string;
  reasons?: FailureReason[];
  /** Last change within [from, to], epoch ms. */
  from?: number;
  to?: number;
  search?: string;
  /** Keyset: the `next` of the previous page (an address, or "<time>:<address>" for recent). */
  after?: string;
  limit?: number;
  /** address: A to Z (the default); recent: newest error (or change) first, for the dashboard. */
  order?: 'address' | 'recent';
}

export async function listQuarantine(q: Q, f: QuarantineFilter = {}): Promise<{ entries: QuarantineView[]; next: string | null }> {
  const limit = Math.max(1, Math.min(f.limit ?? 100, 1000));
  let query = q.selectFrom('quarantine').selectAll();
  if (f.statuses?.length) query = query.where('status', 'in', f.statuses);
  if (f.domain) query = query.where('domain', '=', f.domain.toLowerCase());
  if (f.reasons?.length) query = query.where('failure_reason', 'in', f.reasons.map((r) => failureReasonCode(r)!));
  if (f.from !== undefined) query = query.where('updated_at', '>=', f.from);
  if (f.to !== undefined) query = query.where('updated_at', '<=', f.to);
  if (f.search) query = query.where('address', 'like', `%${f.search.toLowerCase().replace(/[%_]/g, '')}%`);
  if (f.order === 'recent') {
    // Newest error first; an entry without an error (added by hand) counts from its last change.
    const at = sql<number>`coalesce(last_error_at, updated_at)`;
    const m = f.after ? /^(\d+):(.*)$/s.exec(f.after) : null;
    if (f.after && !m) throw invalidInput('after: expected the "next" of the previous page');
    if (m) query = query.where((eb) => eb.or([eb(at, '<', Number(m[1])), eb.and([eb(at, '=', Number(m[1])), eb('address', '>', m[2])])]));
    const rows = await query.orderBy(at, 'desc').orderBy('address').limit(limit + 1).execute();
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return { entries: page.map(toQuarantineView), next: more ? `${Number(last.last_error_at ?? last.updated_at)}:${last.address}` : null };
  }
  if (f.after) query = query.where('address', '>', f.after);
  const rows = await query.orderBy('address').limit(limit + 1).execute();
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { entries: page.map(toQuarantineView), next: more ? page[page.length - 1].address : null };
}

export async function getQuarantineEntry(q: Q, address: string): Promise<QuarantineView> {
  const row = await q.selectFrom('quarantine').selectAll().where('address', '=', quarantineKey(address)).executeTakeFirst();
  if (!row) throw notFound(`quarantine entry for ${address}`);
  return toQuarantineView(row);
}

const statusLabelOf = (status: number | undefined) => (status === undefined ? 'new' : (QUARANTINE_STATUS_LABELS[status as QuarantineStatus] ?? String(status)));

/** Sets one address back to Valid (the operator's manual release). */
export async function releaseAddress(q: Q, address: string, actor = 'system'): Promise<QuarantineView> {
  const before = await q.selectFrom('quarantine').select('status').where('address', '=', quarantineKey(address)).executeTakeFirst();
  const row = await q
    .updateTable('quarantine')
    .set({ status: QuarantineStatus.Valid, error_count: 0, updated_at: Date.now() })
    .where('address', '=', quarantineKey(address))
    .returningAll()
    .executeTakeFirst();
  if (!row) throw notFound(`quarantine entry for ${address}`);
  await auditQuarantine(q, [{ address: row.address, actor, action: `${statusLabelOf(before?.status)} → ${QUARANTINE_STATUS_LABELS[QuarantineStatus.Valid]}`, detail: 'released' }]);
  return toQuarantineView(row);
}

export interface BulkRelease {
  domain: string;
  from: number;
  to: number;
  statuses?: QuarantineStatus[];
  reasons?: FailureReason[];
  dryRun?: boolean;
}

/** Releases every matching entry of a domain changed within the window; returns how many. */
export async function releaseBulk(q: Q, b: BulkRelease, actor = 'system'): Promise<number> {
  if (!b.domain) throw invalidInput('a bulk release needs a domain');
  if (!(b.from <= b.to)) throw invalidInput('a bulk release needs a time window with from <= to');
  const statuses = b.statuses?.length ? b.statuses : [QuarantineStatus.Quarantine, QuarantineStatus.Suspected];
  let count = q
    .selectFrom('quarantine')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('domain', '=', b.domain.toLowerCase())
    .where('status', 'in', statuses)
    .where('updated_at', '>=', b.from)
    .where('updated_at', '<=', b.to);
  if (b.reasons?.length) count = count.where('failure_reason', 'in', b.reasons.map((r) => failureReasonCode(r)!));
  const n = Number((await count.executeTakeFirst())?.n ?? 0);
  if (b.dryRun || n === 0) return n;
  let update = q
    .updateTable('quarantine')
    .set({ status: QuarantineStatus.Valid, error_count: 0, updated_at: Date.now() })
    .where('domain', '=', b.domain.toLowerCase())
    .where('status', 'in', statuses)
    .where('updated_at', '>=', b.from)
    .where('updated_at', '<=', b.to);
  if (b.reasons?.length) update = update.where('failure_reason', 'in', b.reasons.map((r) => failureReasonCode(r)!));
  const released = await update.returning(['address']).execute();
  const detail = `bulk release of ${b.domain.toLowerCase()}, changed ${new Date(b.from).toISOString()} to ${new Date(b.to).toISOString()}`;
  await auditQuarantine(q, released.map((r) => ({ address: r.address, actor, action: `→ ${QUARANTINE_STATUS_LABELS[QuarantineStatus.Valid]}`, detail })));
  return released.length;
}

/** Adds known-bad addresses (Campaign's advice before a new platform's first sends). */
export async function addToQuarantine(q: Q, address: string, status: 'quarantine' | 'denylisted', reason: FailureReason, text: string | null, actor = 'system'): Promise<QuarantineView> {
  const check = checkAddress(address);
  if (!check.ok) throw invalidInput(`"${address}" is not a valid email address`);
  const key = quarantineKey(check.address);
  const now = Date.now();
  const row = {
    address: key,
    domain: check.domain,
    status: status === 'denylisted' ? QuarantineStatus.Denylisted : QuarantineStatus.Quarantine,
    failure_type: 2,
    failure_reason: failureReasonCode(reason),
    error_count: 0,
    error_text: text,
    created_at: now,
    updated_at: now,
  };
  const { address: _a, created_at: _c, ...update } = row;
  const saved = await q.insertInto('quarantine').values(row).onConflict((oc) => oc.column('address').doUpdateSet(update)).returningAll().executeTakeFirstOrThrow();
  await auditQuarantine(q, [{ address: key, actor, action: `added as ${QUARANTINE_STATUS_LABELS[row.status]}`, detail: `${reason}${text ? `: ${text}` : ''}` }]);
  return toQuarantineView(saved);
}

export async function quarantineStats(q: Q): Promise<Record<string, number>> {
  const rows = await q.selectFrom('quarantine').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
  const out: Record<string, number> = { 'with-errors': 0, valid: 0, quarantine: 0, denylisted: 0, suspected: 0 };
  for (const r of rows) out[QUARANTINE_STATUS_NAMES[r.status as QuarantineStatus]] = Number(r.n);
  return out;
}

/** Campaign's nightly cleanup: the automatic releases. Returns how many entries became Valid. */
export async function releaseExpiredErrors(q: Q, policy: QuarantinePolicy, now = Date.now()): Promise<number> {
  const stale = await q
    .updateTable('quarantine')
    .set({ status: QuarantineStatus.Valid, error_count: 0, updated_at: now })
    .where('status', '=', QuarantineStatus.WithErrors)
    .where('last_significant_at', '<', now - policy.resetAfterMs)
    .executeTakeFirst();
  const full = await q
    .updateTable('quarantine')
    .set({ status: QuarantineStatus.Valid, error_count: 0, updated_at: now })
    // Campaign's one documented automatic release from Quarantine: a full mailbox, after 30 days.
    .where('status', 'in', [QuarantineStatus.WithErrors, QuarantineStatus.Quarantine])
    .where('failure_reason', '=', failureReasonCode('Mailbox full'))
    .where('last_error_at', '<', now - policy.mailboxFullReleaseMs)
    .executeTakeFirst();
  return Number(stale.numUpdatedRows) + Number(full.numUpdatedRows);
}
