/**
 * Applies quarantine facts to the quarantine table inside the caller's transaction: reads
 * the current entries of the addresses concerned, runs the rules in order, writes the
 * changed entries. Addresses are keyed lower-cased, so "Ana@X.com" and "ana@x.com" are one
 * entry (Campaign compares case-sensitively, which its users report as a trap).
 */
import type { Selectable } from 'kysely';
import type { Q, QuarantineTable } from '../db/index.ts';
import { failureReasonCode, failureReasonFromCode, failureTypeCode, failureTypeFromCode } from '../deliveries/log-status.ts';
import { domainOf } from '../mail/address.ts';
import { nextQuarantineEntry, type QuarantineEntry, type QuarantineFact, type QuarantinePolicy } from './rules.ts';
import { QUARANTINE_STATUS_LABELS, QuarantineStatus } from './status.ts';
import { auditQuarantine, type NewQuarantineAudit } from './audit.ts';

export interface AddressFact {
  address: string;
  deliveryId: number | null;
  fact: QuarantineFact;
}

export interface QuarantineChange {
  address: string;
  deliveryId: number | null;
  before: QuarantineStatus | null;
  after: QuarantineStatus;
}

export const quarantineKey = (address: string) => address.trim().toLowerCase();

function toEntry(r: Selectable<QuarantineTable>): QuarantineEntry {
  return {
    status: r.status as QuarantineStatus,
    failureType: failureTypeFromCode(r.failure_type),
    failureReason: failureReasonFromCode(r.failure_reason),
    errorCount: r.error_count,
    lastErrorAt: r.last_error_at === null ? null : Number(r.last_error_at),
    lastSignificantAt: r.last_significant_at === null ? null : Number(r.last_significant_at),
    errorText: r.error_text,
  };
}

/**
 * Applies facts in order. `hold(domain)` lets the outage guard turn new quarantines of a
 * suspicious domain into "Suspected" entries instead. Returns the status changes made.
 */
export async function applyQuarantineFacts(q: Q, facts: AddressFact[], policy: QuarantinePolicy, hold: (domain: string) => boolean = () => false): Promise<QuarantineChange[]> {
  if (!facts.length) return [];
  const keys = [...new Set(facts.map((f) => quarantineKey(f.address)))];
  const current = new Map<string, { entry: QuarantineEntry; createdAt: number; deliveryId: number | null }>();
  for (let i = 0; i < keys.length; i += 2000) {
    const rows = await q.selectFrom('quarantine').selectAll().where('address', 'in', keys.slice(i, i + 2000)).execute();
    for (const r of rows) current.set(r.address, { entry: toEntry(r), createdAt: Number(r.created_at), deliveryId: r.delivery_id === null ? null : Number(r.delivery_id) });
  }
  const touched = new Map<string, { before: QuarantineStatus | null; deliveryId: number | null; fact: QuarantineFact }>();
  for (const f of facts) {
    const key = quarantineKey(f.address);
    const cur = current.get(key);
    let next = nextQuarantineEntry(cur?.entry ?? null, f.fact, policy);
    if (!next) continue;
    const domain = domainOf(key);
    if (next.status === QuarantineStatus.Quarantine && cur?.entry.status !== QuarantineStatus.Quarantine && hold(domain)) {
      next = { ...next, status: QuarantineStatus.Suspected };
    }
    if (!touched.has(key)) touched.set(key, { before: cur?.entry.status ?? null, deliveryId: f.deliveryId, fact: f.fact });
    else touched.get(key)!.fact = f.fact;
    current.set(key, { entry: next, createdAt: cur?.createdAt ?? f.fact.at, deliveryId: f.deliveryId ?? cur?.deliveryId ?? null });
  }
  const now = Date.now();
  const changes: QuarantineChange[] = [];
  for (const [key, t] of touched) {
    const { entry, createdAt, deliveryId } = current.get(key)!;
    const row = {
      address: key,
      domain: domainOf(key),
      status: entry.status,
      failure_type: failureTypeCode(entry.failureType),
      failure_reason: failureReasonCode(entry.failureReason),
      error_count: entry.errorCount,
      last_error_at: entry.lastErrorAt,
      last_significant_at: entry.lastSignificantAt,
      error_text: entry.errorText?.slice(0, 1000) ?? null,
      delivery_id: deliveryId,
      created_at: createdAt,
      updated_at: now,
    };
    const { address: _a, created_at: _c, ...update } = row;
    await q.insertInto('quarantine').values(row).onConflict((oc) => oc.column('address').doUpdateSet(update)).execute();
    if (t.before !== entry.status) changes.push({ address: key, deliveryId: t.deliveryId, before: t.before, after: entry.status });
  }
  await auditQuarantine(q, changes.map((c) => auditEntry(c, touched.get(c.address)!.fact)));
  return changes;
}

/** The audit line of a status change the system made: who (the recipient, for an unsubscription) and why. */
function auditEntry(c: QuarantineChange, fact: QuarantineFact): NewQuarantineAudit {
  const from = c.before === null ? 'new' : QUARANTINE_STATUS_LABELS[c.before];
  const why = fact.kind === 'error' ? `${fact.failureType} · ${fact.failureReason}: ${fact.text}` : 'text' in fact ? fact.text : fact.kind;
  const delivery = c.deliveryId === null ? '' : ` (delivery ${c.deliveryId})`;
  return { address: c.address, actor: fact.kind === 'unsubscribe' ? 'recipient' : 'system', action: `${from} → ${QUARANTINE_STATUS_LABELS[c.after]}`, detail: `${why}${delivery}`, at: fact.at };
}
