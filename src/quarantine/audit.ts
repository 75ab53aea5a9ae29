/**
 * The quarantine's audit trail: who changed an address's status, and why. The system writes
 * an entry when errors, a complaint or an unsubscription move an address (the recipient is
 * the actor of an unsubscription); operators' releases and additions name the operator.
 * The only writer of `quarantine_audit`.
 */
import type { Q } from '../db/index.ts';

export interface QuarantineAuditEntry {
  at: string;
  actor: string;
  action: string;
  detail: string | null;
}

export interface NewQuarantineAudit {
  address: string;
  actor: string;
  action: string;
  detail?: string | null;
  at?: number;
}

export async function auditQuarantine(q: Q, entries: NewQuarantineAudit[]): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < entries.length; i += 1000) {
    const rows = entries.slice(i, i + 1000).map((e) => ({ address: e.address.toLowerCase(), at: e.at ?? now, actor: e.actor.slice(0, 200), action: e.action.slice(0, 200), detail: e.detail?.slice(0, 1000) ?? null }));
    if (rows.length) await q.insertInto('quarantine_audit').values(rows).execute();
  }
}

/** An address's trail, oldest first (at most the last 200 entries). */
export async function quarantineAuditOf(q: Q, address: string): Promise<QuarantineAuditEntry[]> {
  const rows = await q.selectFrom('quarantine_audit').selectAll().where('address', '=', address.toLowerCase()).orderBy('id', 'desc').limit(200).execute();
  return rows.reverse().map((r) => ({ at: new Date(Number(r.at)).toISOString(), actor: r.actor, action: r.action, detail: r.detail }));
}
