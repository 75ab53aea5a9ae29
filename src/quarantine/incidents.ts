/**
 * Outage-guard incidents as operators see them, and their resolution: "confirm" turns the
 * held (Suspected) entries of the domain into Quarantine, "release" makes them Valid.
 */
import type { Q } from '../db/index.ts';
import { illegalState, notFound } from '../lib/errors.ts';
import { QuarantineStatus } from './status.ts';

export interface IncidentView {
  id: number;
  domain: string;
  startedAt: string;
  holdUntil: string;
  hardRate: number;
  baselineRate: number;
  held: number;
  suspectedNow: number;
  resolution: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
}

export async function listIncidents(q: Q, limit = 100): Promise<IncidentView[]> {
  const rows = await q.selectFrom('quarantine_incidents').selectAll().orderBy('id', 'desc').limit(limit).execute();
  const out: IncidentView[] = [];
  for (const r of rows) {
    const suspected = await q
      .selectFrom('quarantine')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('domain', '=', r.domain)
      .where('status', '=', QuarantineStatus.Suspected)
      .executeTakeFirst();
    out.push({
      id: Number(r.id),
      domain: r.domain,
      startedAt: new Date(Number(r.started_at)).toISOString(),
      holdUntil: new Date(Number(r.until)).toISOString(),
      hardRate: Math.round(r.hard_rate * 10000) / 100,
      baselineRate: Math.round(r.baseline_rate * 10000) / 100,
      held: Number(r.held),
      suspectedNow: Number(suspected?.n ?? 0),
      resolution: r.resolution,
      resolvedAt: r.resolved_at === null ? null : new Date(Number(r.resolved_at)).toISOString(),
      resolvedBy: r.resolved_by,
    });
  }
  return out;
}

/** Confirms (quarantine the held addresses) or releases them; ends the hold. Returns how many changed. */
export async function resolveIncident(q: Q, id: number, resolution: 'confirm' | 'release', actor: string): Promise<number> {
  const incident = await q.selectFrom('quarantine_incidents').selectAll().where('id', '=', id).executeTakeFirst();
  if (!incident) throw notFound(`incident ${id}`);
  if (incident.resolution) throw illegalState(`incident ${id} was already resolved (${incident.resolution})`);
  const now = Date.now();
  const r = await q
    .updateTable('quarantine')
    .set({ status: resolution === 'confirm' ? QuarantineStatus.Quarantine : QuarantineStatus.Valid, updated_at: now, ...(resolution === 'release' ? { error_count: 0 } : {}) })
    .where('domain', '=', incident.domain)
    .where('status', '=', QuarantineStatus.Suspected)
    .executeTakeFirst();
  await q.updateTable('quarantine_incidents').set({ resolution: resolution === 'confirm' ? 'confirmed' : 'released', resolved_at: now, resolved_by: actor, until: Math.min(Number(incident.until), now) }).where('id', '=', id).execute();
  return Number(r.numUpdatedRows);
}
