/**
 * The delivery audit trail: who did what and when (created, edited, analyzed, confirmed,
 * paused, resumed, stopped, finished). Written in the same transaction as the change.
 */
import type { Q } from '../db/index.ts';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  detail: unknown;
}

export async function audit(q: Q, deliveryId: number, actor: string, action: string, detail?: unknown): Promise<void> {
  await q
    .insertInto('delivery_audit')
    .values({ delivery_id: deliveryId, at: Date.now(), actor, action, detail: detail === undefined ? null : JSON.stringify(detail) })
    .execute();
}

export async function listAudit(q: Q, deliveryId: number): Promise<AuditEntry[]> {
  const rows = await q.selectFrom('delivery_audit').selectAll().where('delivery_id', '=', deliveryId).orderBy('id').execute();
  return rows.map((r) => ({ id: Number(r.id), at: new Date(Number(r.at)).toISOString(), actor: r.actor, action: r.action, detail: r.detail ? JSON.parse(r.detail) : null }));
}
