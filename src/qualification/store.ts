/**
 * The bounce qualification table, like Campaign's delivery log qualification: one entry per
 * distinct failure text once its variable parts are normalized, with the first text seen,
 * the occurrences (capped at 100,000 as in Campaign), the qualification (type, reason) and a
 * status: to-qualify (nothing matched it), keep (qualified), ignore (never quarantines).
 * Fed by synchronous replies (through the feedback service) and asynchronous bounce mails
 * (through the inbound processor); operators re-qualify entries through the API and CLI.
 */
import type { Selectable } from 'kysely';
import { sql } from 'kysely';
import type { BounceQualificationsTable, Q } from '../db/index.ts';
import { normalizeFailureText } from './normalize.ts';
import { failureReasonCode, failureReasonFromCode, failureTypeCode, failureTypeFromCode } from '../deliveries/index.ts';
import { notFound } from '../lib/errors.ts';
import type { FailureReason, FailureType, Qualification } from '../mail/failure.ts';

export const OCCURRENCES_CAP = 100_000;
export type QualificationStatus = 'to-qualify' | 'keep' | 'ignore';

export interface SeenFailure {
  text: string;
  source: 'sync' | 'async';
  qualification: Qualification;
  at: number;
}

export interface QualificationEntry {
  key: string;
  firstText: string;
  occurrences: number;
  source: string;
  category: string;
  failureType: FailureType | null;
  failureReason: FailureReason | null;
  ruleId: string | null;
  status: QualificationStatus;
  qualifiedBy: string | null;
  firstSeen: string;
  lastSeen: string;
}

export function toEntry(r: Selectable<BounceQualificationsTable>): QualificationEntry {
  return {
    key: r.text_key,
    firstText: r.first_text,
    occurrences: r.occurrences,
    source: r.source,
    category: r.category,
    failureType: failureTypeFromCode(r.failure_type),
    failureReason: failureReasonFromCode(r.failure_reason),
    ruleId: r.rule_id,
    status: r.status as QualificationStatus,
    qualifiedBy: r.qualified_by,
    firstSeen: new Date(Number(r.first_seen)).toISOString(),
    lastSeen: new Date(Number(r.last_seen)).toISOString(),
  };
}

/** Counts failures seen, grouped by normalized text, in the caller's transaction. */
export async function recordFailures(q: Q, seen: SeenFailure[]): Promise<void> {
  const grouped = new Map<string, { first: SeenFailure; count: number; last: number }>();
  for (const s of seen) {
    if (!s.text) continue;
    const key = normalizeFailureText(s.text).slice(0, 500);
    const g = grouped.get(key);
    if (g) {
      g.count++;
      g.last = Math.max(g.last, s.at);
    } else grouped.set(key, { first: s, count: 1, last: s.at });
  }
  for (const [key, g] of grouped) {
    const q0 = g.first.qualification;
    await q
      .insertInto('bounce_qualifications')
      .values({
        text_key: key,
        first_text: g.first.text.slice(0, 2000),
        occurrences: Math.min(g.count, OCCURRENCES_CAP),
        source: g.first.source,
        category: q0.category,
        failure_type: failureTypeCode(q0.failureType),
        failure_reason: failureReasonCode(q0.failureReason),
        rule_id: q0.ruleId,
        status: q0.ruleId === null ? 'to-qualify' : 'keep',
        first_seen: g.first.at,
        last_seen: g.last,
      })
      .onConflict((oc) =>
        oc.column('text_key').doUpdateSet({
          // CASE rather than min()/max(): SQLite's two-argument min is LEAST on PostgreSQL.
          occurrences: sql`case when bounce_qualifications.occurrences + ${g.count} > ${OCCURRENCES_CAP} then ${OCCURRENCES_CAP} else bounce_qualifications.occurrences + ${g.count} end`,
          last_seen: sql`case when bounce_qualifications.last_seen > ${g.last} then bounce_qualifications.last_seen else ${g.last} end`,
        }),
      )
      .execute();
  }
}

export interface QualificationFilter {
  status?: QualificationStatus;
  source?: 'sync' | 'async';
  search?: string;
  limit?: number;
  /** Keyset: entries seen less recently than this key's entry come next. */
  offset?: number;
}

export async function listQualifications(q: Q, f: QualificationFilter = {}): Promise<QualificationEntry[]> {
  let query = q.selectFrom('bounce_qualifications').selectAll();
  if (f.status) query = query.where('status', '=', f.status);
  if (f.source) query = query.where('source', '=', f.source);
  if (f.search) query = query.where((eb) => eb(eb.fn('lower', ['first_text']), 'like', `%${f.search!.toLowerCase().replace(/[%_]/g, '')}%`));
  const rows = await query.orderBy('occurrences', 'desc').orderBy('text_key').limit(Math.min(f.limit ?? 100, 1000)).offset(f.offset ?? 0).execute();
  return rows.map(toEntry);
}

export interface Requalification {
  failureType: FailureType;
  failureReason: FailureReason;
  status: 'keep' | 'ignore';
  occurrences?: number;
}

/** An operator's qualification of a failure text; later failures with that text follow it. */
export async function requalify(q: Q, key: string, r: Requalification, actor: string): Promise<QualificationEntry> {
  const row = await q
    .updateTable('bounce_qualifications')
    .set({
      failure_type: failureTypeCode(r.failureType),
      failure_reason: failureReasonCode(r.failureReason),
      status: r.status,
      qualified_by: actor,
      ...(r.occurrences !== undefined ? { occurrences: Math.min(r.occurrences, OCCURRENCES_CAP) } : {}),
    })
    .where('text_key', '=', key)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw notFound(`qualification "${key}"`);
  return toEntry(row);
}

/** Operator qualifications, by normalized text, for the classifiers to apply. */
export async function loadOperatorQualifications(q: Q): Promise<Map<string, { failureType: FailureType; failureReason: FailureReason; status: QualificationStatus }>> {
  const rows = await q.selectFrom('bounce_qualifications').selectAll().where('qualified_by', 'is not', null).execute();
  return new Map(rows.map((r) => [r.text_key, { failureType: failureTypeFromCode(r.failure_type) ?? 'Not defined', failureReason: failureReasonFromCode(r.failure_reason) ?? 'Not defined', status: r.status as QualificationStatus }]));
}
