/**
 * Adaptations in force: suspensions and throttles of a site (or of one sending IP towards
 * it), decided by the adaptive rules from providers' replies, by the circuit breaker, or by an
 * operator. Kept in the database so every MTA process applies them and operators can list and
 * cancel them; each engine reloads them every few seconds. A throttle's factor climbs back to
 * 1 linearly over its recovery period once its duration ends.
 */
import type { Selectable } from 'kysely';
import type { MtaAdaptationsTable, Q } from '../../db/index.ts';
import type { AdaptiveRule } from '../../config/adaptive-rules.ts';

export interface Adaptation {
  id: number;
  site: string;
  source: string | null;
  rule: string;
  action: 'suspend' | 'throttle';
  factor: number | null;
  reason: string;
  startedAt: number;
  until: number;
  recoveryMs: number;
}

export interface AdaptationState {
  /** Send nothing before this time (epoch ms), or null. */
  suspendedUntil: number | null;
  suspendedBy: Adaptation | null;
  /** Share of the normal rate and connections allowed now, 0..1. */
  factor: number;
}

export class Adaptations {
  private list: Adaptation[] = [];
  private readonly hits = new Map<string, number[]>();
  /** Counts local additions, so a reload that raced with one reads again instead of losing it. */
  private additions = 0;
  /** Adaptations being written right now, so two replies at once do not add the same one twice. */
  private readonly firing = new Set<string>();

  constructor(private readonly q: Q) {}

  /** Reloads what is in force (including other processes' and operators' changes). */
  async reload(now = Date.now()): Promise<void> {
    const before = this.additions;
    const rows = await this.q
      .selectFrom('mta_adaptations')
      .selectAll()
      .where('cancelled_at', 'is', null)
      .where((eb) => eb(eb('until', '+', eb.ref('recovery_ms')), '>', now))
      .execute();
    this.list = rows.map(toAdaptation);
    if (this.additions !== before) return this.reload(now);
  }

  active(): Adaptation[] {
    return this.list;
  }

  /** What applies to messages from `source` to `site` now. */
  state(site: string, source: string | null, now = Date.now()): AdaptationState {
    let suspendedUntil: number | null = null;
    let suspendedBy: Adaptation | null = null;
    let factor = 1;
    for (const a of this.list) {
      if (a.site !== site || (a.source !== null && a.source !== source)) continue;
      if (a.action === 'suspend' && a.until > now && (suspendedUntil === null || a.until > suspendedUntil)) {
        suspendedUntil = a.until;
        suspendedBy = a;
      }
      if (a.action === 'throttle' && a.factor !== null) factor = Math.min(factor, currentFactor(a, now));
    }
    return { suspendedUntil, suspendedBy, factor };
  }

  /** Records a reply that matched `rule`; true when the rule's trigger is reached. */
  triggered(rule: AdaptiveRule, site: string, source: string | null, now = Date.now()): boolean {
    if (rule.trigger === 'immediate') return true;
    const key = `${rule.name}|${site}|${rule.scope === 'source' ? (source ?? '') : ''}`;
    const hits = (this.hits.get(key) ?? []).filter((t) => t > now - (rule.trigger as { window: number }).window);
    hits.push(now);
    if (hits.length < rule.trigger.count) {
      this.hits.set(key, hits);
      return false;
    }
    this.hits.delete(key);
    return true;
  }

  /** Puts a triggered suspend or throttle rule in force, unless the same one already is. */
  async fire(rule: AdaptiveRule, site: string, source: string | null, reply: string, now = Date.now()): Promise<Adaptation | null> {
    if (rule.action === 'bounce') return null;
    const scoped = rule.scope === 'source' ? source : null;
    const existing = this.list.find((a) => a.rule === rule.name && a.site === site && a.source === scoped && a.until > now);
    const key = `${rule.name}|${site}|${scoped ?? ''}`;
    if (existing || this.firing.has(key)) return null;
    this.firing.add(key);
    try {
      return await this.add({ site, source: scoped, rule: rule.name, action: rule.action, factor: rule.factor ?? null, reason: reply, until: now + rule.duration, recoveryMs: rule.recovery ?? Math.round(rule.duration / 2) }, now);
    } finally {
      this.firing.delete(key);
    }
  }

  async add(a: Omit<Adaptation, 'id' | 'startedAt'>, now = Date.now()): Promise<Adaptation> {
    const row = await this.q
      .insertInto('mta_adaptations')
      .values({ site: a.site, source: a.source, rule: a.rule, action: a.action, factor: a.factor, reason: a.reason.slice(0, 1000), started_at: now, until: a.until, recovery_ms: a.action === 'throttle' ? a.recoveryMs : 0 })
      .returning('id')
      .executeTakeFirstOrThrow();
    const added = { ...a, id: Number(row.id), startedAt: now, recoveryMs: a.action === 'throttle' ? a.recoveryMs : 0 };
    this.list.push(added);
    this.additions++;
    return added;
  }
}

function currentFactor(a: Adaptation, now: number): number {
  const f = a.factor ?? 1;
  if (now < a.until) return f;
  if (a.recoveryMs <= 0) return 1;
  // Recovery: climb linearly from the throttled share back to the full limits.
  return Math.min(1, f + (1 - f) * ((now - a.until) / a.recoveryMs));
}

/** Cancels an adaptation; messages it parked in the spool come back within a few seconds. */
/** An operator's own suspension or throttle of a site (or one sending IP towards it), until a time. */
export async function addOperatorAdaptation(q: Q, a: { site: string; source: string | null; action: 'suspend' | 'throttle'; factor: number | null; reason: string; durationMs: number }, now = Date.now()): Promise<number> {
  const row = await q
    .insertInto('mta_adaptations')
    .values({ site: a.site, source: a.source, rule: 'operator', action: a.action, factor: a.action === 'throttle' ? a.factor : null, reason: a.reason, started_at: now, until: now + a.durationMs, recovery_ms: 0 })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export async function cancelAdaptation(q: Q, id: number, by: string): Promise<boolean> {
  const now = Date.now();
  const r = await q.updateTable('mta_adaptations').set({ cancelled_at: now, cancelled_by: by }).where('id', '=', id).where('cancelled_at', 'is', null).executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return false;
  // Engines reload adaptations every second: release the parked messages just after that, so
  // they are not parked again by an engine that has not heard of the cancellation yet.
  await q
    .updateTable('mta_spool')
    .set({ next_attempt_at: now + 2000, wait_reason: `released: adaptation #${id} cancelled by ${by}` })
    .where('lease_owner', 'is', null)
    .where('wait_reason', 'like', `suspended by % (#${id}) until%`)
    .execute();
  return true;
}

export async function listAdaptations(q: Q, options: { includeEnded?: boolean; limit?: number } = {}): Promise<(Adaptation & { cancelledAt: number | null; cancelledBy: string | null })[]> {
  const now = Date.now();
  let query = q.selectFrom('mta_adaptations').selectAll().orderBy('id', 'desc').limit(options.limit ?? 200);
  if (!options.includeEnded) query = query.where('cancelled_at', 'is', null).where((eb) => eb(eb('until', '+', eb.ref('recovery_ms')), '>', now));
  return (await query.execute()).map((r) => ({ ...toAdaptation(r), cancelledAt: r.cancelled_at === null ? null : Number(r.cancelled_at), cancelledBy: r.cancelled_by }));
}

function toAdaptation(r: Selectable<MtaAdaptationsTable>): Adaptation {
  return {
    id: Number(r.id),
    site: r.site,
    source: r.source,
    rule: r.rule,
    action: r.action as Adaptation['action'],
    factor: r.factor,
    reason: r.reason,
    startedAt: Number(r.started_at),
    until: Number(r.until),
    recoveryMs: Number(r.recovery_ms),
  };
}
