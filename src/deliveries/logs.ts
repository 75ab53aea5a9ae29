/**
 * Reading delivery logs: filtered lists with keyset paging (fast at a million rows: every
 * page is an index range, never an OFFSET), and one log with its history of events.
 */
import type { Selectable } from 'kysely';
import type { DeliveryLogsTable, Q } from '../db/index.ts';
import { notFound } from '../lib/errors.ts';
import type { FailureReason, FailureType } from '../mail/failure.ts';
import { failureReasonCode, failureReasonFromCode, failureTypeCode, failureTypeFromCode, LOG_STATUS_LABELS, LOG_STATUS_NAMES, type LogStatus } from './log-status.ts';

export interface LogView {
  id: number;
  deliveryId: number;
  row: number;
  address: string;
  domain: string;
  status: string;
  statusCode: number;
  statusLabel: string;
  failureType: FailureType | null;
  failureReason: FailureReason | null;
  reply: string | null;
  attempts: number;
  createdAt: string;
  updatedAt: string;
  sentAt: string | null;
  complainedAt: string | null;
  openedAt: string | null;
  clickedAt: string | null;
}

export interface LogFilter {
  statuses?: LogStatus[];
  failureTypes?: FailureType[];
  failureReasons?: FailureReason[];
  domain?: string;
  /** Part of the address, case-insensitive. */
  search?: string;
  /** Only logs whose recipient complained (an ARF report). */
  complained?: boolean;
  /** Only logs with at least one event of one of these types (e.g. auto-replied). */
  withEvent?: string[];
  /** Keyset cursor: logs with an id greater than this. */
  after?: number;
  limit?: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export function toLogView(r: Selectable<DeliveryLogsTable>): LogView {
  return {
    id: Number(r.id),
    deliveryId: Number(r.delivery_id),
    row: r.row_no,
    address: r.address,
    domain: r.domain,
    status: LOG_STATUS_NAMES[r.status as LogStatus],
    statusCode: r.status,
    statusLabel: LOG_STATUS_LABELS[r.status as LogStatus],
    failureType: failureTypeFromCode(r.failure_type),
    failureReason: failureReasonFromCode(r.failure_reason),
    reply: r.reply,
    attempts: r.attempts,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    sentAt: iso(r.sent_at),
    complainedAt: iso(r.complained_at),
    openedAt: iso(r.opened_at),
    clickedAt: iso(r.clicked_at),
  };
}

/** The logs of a delivery that pass the filter (no order, no paging). */
function filtered(q: Q, deliveryId: number, filter: LogFilter) {
  let query = q.selectFrom('delivery_logs').where('delivery_id', '=', deliveryId);
  if (filter.statuses?.length) query = query.where('status', 'in', filter.statuses);
  if (filter.failureTypes?.length) query = query.where('failure_type', 'in', filter.failureTypes.map(failureTypeCode));
  if (filter.failureReasons?.length) query = query.where('failure_reason', 'in', filter.failureReasons.map((r) => failureReasonCode(r)!));
  if (filter.domain) query = query.where('domain', '=', filter.domain.toLowerCase());
  if (filter.search) query = query.where((eb) => eb(eb.fn('lower', ['address']), 'like', `%${filter.search!.toLowerCase().replace(/[%_]/g, '')}%`));
  if (filter.complained) query = query.where('complained_at', 'is not', null);
  // Through the events' (log_id) index: one lookup per candidate log, not a scan of the events.
  if (filter.withEvent?.length) query = query.where((eb) => eb.exists(eb.selectFrom('events').select('events.id').whereRef('events.log_id', '=', 'delivery_logs.id').where('events.type', 'in', filter.withEvent!)));
  return query;
}

export async function listLogs(q: Q, deliveryId: number, filter: LogFilter = {}): Promise<{ logs: LogView[]; next: number | null }> {
  const limit = Math.max(1, Math.min(filter.limit ?? 100, 1000));
  let query = filtered(q, deliveryId, filter).selectAll();
  if (filter.after) query = query.where('id', '>', filter.after);
  const rows = await query.orderBy('id').limit(limit + 1).execute();
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { logs: page.map(toLogView), next: more ? Number(page[page.length - 1].id) : null };
}

/** How many logs of a delivery pass the filter (the list's total). */
export async function countLogs(q: Q, deliveryId: number, filter: LogFilter = {}): Promise<number> {
  const row = await filtered(q, deliveryId, { ...filter, after: undefined }).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  return Number(row?.n ?? 0);
}

export async function getLog(q: Q, id: number): Promise<LogView> {
  if (!Number.isSafeInteger(id) || id <= 0) throw notFound(`delivery log ${id}`);
  const r = await q.selectFrom('delivery_logs').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r) throw notFound(`delivery log ${id}`);
  return toLogView(r);
}

/** Who a log's message went to and from whom: what the unsubscribe page shows. Null when the log is gone. */
export async function getLogRecipient(q: Q, id: number): Promise<{ logId: number; deliveryId: number; address: string; fromName: string; fromAddress: string } | null> {
  const r = await q
    .selectFrom('delivery_logs')
    .innerJoin('deliveries', 'deliveries.id', 'delivery_logs.delivery_id')
    .select(['delivery_logs.id', 'delivery_logs.delivery_id', 'delivery_logs.address', 'deliveries.from_name', 'deliveries.from_address'])
    .where('delivery_logs.id', '=', id)
    .executeTakeFirst();
  return r ? { logId: Number(r.id), deliveryId: Number(r.delivery_id), address: r.address, fromName: r.from_name, fromAddress: r.from_address } : null;
}
