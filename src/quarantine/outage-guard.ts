/**
 * The outage guard. When a mailbox provider breaks, it answers "user unknown" for real
 * addresses, and Campaign's rules quarantine them all for good (Apple 2021, Italia Online
 * 2023: the recovery is a manual bulk release). Here, when a domain's share of hard bounces
 * over the last minutes jumps far above its own history, an incident opens: new quarantines
 * of that domain are held as "Suspected" instead, and the incident is reported for an
 * operator to confirm (quarantine them) or release (set them Valid).
 *
 * The sliding window lives in the memory of the feedback process; the baseline is read from
 * the delivery logs of the past week when the window first looks suspicious.
 */
import type { Q } from '../db/index.ts';

/** Read from policy/quarantine.yaml (outageGuard) by config/quarantine-policy.ts. */
export interface OutageGuardPolicy {
  windowMs: number;
  /** Outcomes a domain needs in the window before its rate means anything. */
  minVolume: number;
  /** Hard-bounce share of the window that is suspicious whatever the history. */
  minRate: number;
  /** How many times the domain's usual rate the window must reach. */
  factor: number;
  /** How long new quarantines stay held once an incident opens. */
  holdMs: number;
}

const HARD = 2;

export class OutageGuard {
  private readonly windows = new Map<string, { at: number; hard: boolean }[]>();
  private readonly open = new Map<string, { id: number; until: number }>();
  private readonly checkedAt = new Map<string, number>();

  /** The policy is read through a getter at each use, so a reloaded file applies at once. */
  constructor(private readonly currentPolicy: () => OutageGuardPolicy) {}

  private get policy(): OutageGuardPolicy {
    return this.currentPolicy();
  }

  /** Records one outcome for a domain: a hard bounce (quarantining error) or a success. */
  observe(domain: string, hard: boolean, at: number): void {
    let w = this.windows.get(domain);
    if (!w) this.windows.set(domain, (w = []));
    w.push({ at, hard });
    const horizon = at - this.policy.windowMs;
    while (w.length && w[0].at < horizon) w.shift();
  }

  /** Opens incidents for domains whose window looks like an outage; call before applying. */
  async evaluate(q: Q, domains: Iterable<string>, now = Date.now()): Promise<void> {
    await this.loadOpen(q, now);
    for (const domain of domains) {
      if (this.isHeld(domain, now)) continue;
      const w = this.windows.get(domain) ?? [];
      if (w.length < this.policy.minVolume) continue;
      const rate = w.filter((o) => o.hard).length / w.length;
      if (rate < this.policy.minRate) continue;
      // Do not re-read the history of the same domain more than once a minute.
      if ((this.checkedAt.get(domain) ?? 0) > now - 60_000) continue;
      this.checkedAt.set(domain, now);
      const baseline = await baselineRate(q, domain, now - this.policy.windowMs);
      if (rate < baseline * this.policy.factor) continue;
      const row = await q
        .insertInto('quarantine_incidents')
        .values({ domain, started_at: now, until: now + this.policy.holdMs, hard_rate: rate, baseline_rate: baseline })
        .returning('id')
        .executeTakeFirstOrThrow();
      this.open.set(domain, { id: Number(row.id), until: now + this.policy.holdMs });
    }
  }

  isHeld(domain: string, now = Date.now()): boolean {
    const i = this.open.get(domain);
    return Boolean(i && i.until > now);
  }

  /** Counts a quarantine held back by the open incident of its domain. */
  async countHeld(q: Q, domain: string, n: number): Promise<void> {
    const i = this.open.get(domain);
    if (!i || n === 0) return;
    await q.updateTable('quarantine_incidents').set((eb) => ({ held: eb('held', '+', n) })).where('id', '=', i.id).execute();
  }

  /** Incidents opened or resolved by other processes, or by an operator, are read back. */
  private async loadOpen(q: Q, now: number): Promise<void> {
    const rows = await q.selectFrom('quarantine_incidents').select(['id', 'domain', 'until']).where('resolution', 'is', null).where('until', '>', now).execute();
    this.open.clear();
    for (const r of rows) this.open.set(r.domain, { id: Number(r.id), until: Number(r.until) });
  }
}

/** The domain's hard-bounce share over the week before the window (at least a small floor). */
async function baselineRate(q: Q, domain: string, before: number): Promise<number> {
  const r = await q
    .selectFrom('delivery_logs')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>(eb.case().when('failure_type', '=', HARD).then(1).else(0).end()).as('hard')])
    .where('domain', '=', domain)
    .where('event_at', '>=', before - 7 * 86_400_000)
    .where('event_at', '<', before)
    .where('status', 'in', [1, 2])
    .executeTakeFirst();
  const n = Number(r?.n ?? 0);
  // With no history, assume a typical list's 2 % so a brand-new domain can still trip the guard.
  return n < 100 ? 0.02 : Math.max(Number(r?.hard ?? 0) / n, 0.005);
}
