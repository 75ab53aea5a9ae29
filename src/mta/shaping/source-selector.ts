/**
 * Chooses the sending IP for a message: the IPs of the message's pool that may send to its
 * domain (include/exclude masks), that are not suspended towards its site, and whose warm-up
 * cap for the site's provider is not reached today; weighted at random among those. When
 * none can send, says until when the message has to wait and why. Counts what each IP sent
 * per provider per day, in memory and in the database (so restarts keep the warm-up count).
 */
import type { Q } from '../../db/index.ts';
import { sql } from 'kysely';
import { warmupCap, type SendingIp, type SendingIps } from '../../config/sending-ips.ts';
import type { Adaptations } from './adaptations.ts';

const DAY = 86_400_000;

export type Selection = { ok: true; ip: SendingIp } | { ok: false; until: number; reason: string };

export class SourceSelector {
  private day = -1;
  private readonly used = new Map<string, number>();
  private readonly pending = new Map<string, number>();

  constructor(
    private readonly q: Q,
    private readonly ips: () => SendingIps,
    private readonly adaptations: Adaptations,
    private readonly random: () => number = Math.random,
  ) {}

  /** Loads today's counts (call at start and it reloads itself when the day changes). */
  async load(now = Date.now()): Promise<void> {
    const day = Math.floor(now / DAY);
    const rows = await this.q.selectFrom('mta_ip_usage').select(['ip', 'provider', 'sent']).where('day', '=', day).execute();
    this.used.clear();
    for (const r of rows) this.used.set(`${r.ip}|${r.provider}`, r.sent);
    this.day = day;
  }

  choose(pool: string | null, domain: string, site: string, provider: string, now = Date.now()): Selection {
    if (Math.floor(now / DAY) !== this.day) {
      this.used.clear();
      this.day = Math.floor(now / DAY);
    }
    const all = this.ips().pool(pool);
    const allowed = all.filter((ip) => ip.include.some((p) => p.test(domain)) && !ip.exclude.some((p) => p.test(domain)));
    if (!allowed.length) return { ok: false, until: now + 3_600_000, reason: `no IP of pool "${pool ?? 'default'}" may send to ${domain} (include/exclude masks)` };
    let waitUntil = Number.POSITIVE_INFINITY;
    let reason = '';
    const usable: SendingIp[] = [];
    for (const ip of allowed) {
      const st = this.adaptations.state(site, ip.address, now);
      if (st.suspendedUntil !== null) {
        if (st.suspendedUntil < waitUntil) {
          waitUntil = st.suspendedUntil;
          reason = `suspended by ${st.suspendedBy?.rule} (#${st.suspendedBy?.id}) until ${new Date(st.suspendedUntil).toISOString()}: ${st.suspendedBy?.reason}`;
        }
        continue;
      }
      const cap = warmupCap(ip, now);
      if (cap !== null && (this.used.get(`${ip.address}|${provider}`) ?? 0) >= cap) {
        const tomorrow = (Math.floor(now / DAY) + 1) * DAY;
        if (tomorrow < waitUntil) {
          waitUntil = tomorrow;
          reason = `warm-up cap reached: ${ip.address} may send ${cap} messages a day to ${provider}`;
        }
        continue;
      }
      usable.push(ip);
    }
    if (!usable.length) return { ok: false, until: waitUntil, reason };
    const total = usable.reduce((a, ip) => a + ip.weight, 0);
    let pick = this.random() * total;
    let chosen = usable[usable.length - 1];
    for (const ip of usable) {
      pick -= ip.weight;
      if (pick < 0) {
        chosen = ip;
        break;
      }
    }
    // Counted when chosen, not when sent: a batch routed at once must not overshoot the cap.
    this.count(chosen.address, provider);
    return { ok: true, ip: chosen };
  }

  /** Gives back a count taken by choose() for a message that did not go after all. */
  uncount(ip: string | null, provider: string): void {
    const key = `${ip ?? 'default'}|${provider}`;
    this.used.set(key, Math.max(0, (this.used.get(key) ?? 0) - 1));
    this.pending.set(key, (this.pending.get(key) ?? 0) - 1);
  }

  /** Counts one message sent from `ip` to `provider`. */
  count(ip: string | null, provider: string): void {
    const key = `${ip ?? 'default'}|${provider}`;
    this.used.set(key, (this.used.get(key) ?? 0) + 1);
    this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
  }

  usage(ip: string | null, provider: string): number {
    return this.used.get(`${ip ?? 'default'}|${provider}`) ?? 0;
  }

  /** Writes the counts gathered since the last flush. */
  async flush(): Promise<void> {
    if (!this.pending.size) return;
    const day = this.day;
    const batch = [...this.pending];
    this.pending.clear();
    for (const [key, n] of batch) {
      const [ip, provider] = key.split('|');
      await this.q
        .insertInto('mta_ip_usage')
        .values({ day, ip, provider, sent: n })
        .onConflict((oc) => oc.columns(['day', 'ip', 'provider']).doUpdateSet({ sent: sql`mta_ip_usage.sent + excluded.sent` }))
        .execute();
    }
  }
}
