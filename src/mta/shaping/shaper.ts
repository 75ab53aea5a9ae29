/**
 * The shaper answers, for messages from one sending IP to one MX site: which MX rule
 * applies, how many connections each path (sending IP × MX IP) may have open, whether the
 * site is suspended, and whether a message may go now or in how many milliseconds (token
 * buckets for the rule's per-minute and per-hour rates, shared by all IPs or per IP, scaled
 * by the throttles in force and, when several MTA processes send, by this process's part of
 * the site's rule, which follows what it has to send (peers.ts)). It also feeds replies to the
 * adaptive rules and the circuit breaker.
 * Mechanism only: every number comes from the policy files.
 */
import type { AdaptiveRules } from '../../config/adaptive-rules.ts';
import type { MxRule, MxRules } from '../../config/mx-rules.ts';
import { TokenBucket } from '../../lib/token-bucket.ts';
import { formatSmtpReply, replyClass, type SmtpReply } from '../../mail/smtp-reply.ts';
import type { Adaptation, Adaptations, AdaptationState } from './adaptations.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import type { Allocation } from './peers.ts';

/** What is in force for a site from one sending IP: the adaptations and this process's part of the rule. */
export interface ShapedState extends AdaptationState {
  /** This process's share of the rule's rates, 0..1. */
  share: number;
  /** Connections per path this process may open, out of `outOf`; null: all of them (one process). */
  connections: number | null;
  /** The site's connections per path its part was split from (the throttled rule's at that heartbeat); null with connections. */
  outOf: number | null;
}

/** A rule's connections per path under a throttle's factor: scaled down, at least one. */
export function throttledConnections(rule: MxRule, factor: number): number {
  return rule.maxConnections <= 0 ? 0 : Math.max(1, Math.floor(rule.maxConnections * factor));
}

/** How long a site this process has no part of waits before asking again (its next heartbeat). */
const NO_SHARE_WAIT_MS = 1000;

export interface ReplyReaction {
  adaptation: Adaptation | null;
  /** A bounce rule matched: fail what is queued for the site. */
  bounce: boolean;
}

export class Shaper {
  private readonly buckets = new Map<string, { minute: TokenBucket | null; hour: TokenBucket | null }>();
  private readonly paths = new Map<string, number>();
  private readonly ruleCache = new Map<string, MxRule>();
  private readonly breaker: CircuitBreaker;
  /** This process's part of each site's rule; all of it until the engine says otherwise. */
  private shares: (site: string) => Allocation | null = () => null;

  constructor(
    private readonly mxRules: () => MxRules,
    private readonly adaptiveRules: () => AdaptiveRules,
    readonly adaptations: Adaptations,
  ) {
    this.breaker = new CircuitBreaker(adaptiveRules().circuitBreaker);
  }

  /** Policy files changed: forget cached rule matches and rates. */
  policyChanged(): void {
    this.ruleCache.clear();
    this.buckets.clear();
    this.breaker.setPolicy(this.adaptiveRules().circuitBreaker);
  }

  /** Several MTA processes send: `shares` says this process's part of a site's rule (null: all of it). */
  setShares(shares: (site: string) => Allocation | null): void {
    this.shares = shares;
  }

  /** The factor a rule's rates are multiplied by: the adaptations' and this process's share. */
  scale(st: ShapedState): number {
    return st.factor * st.share;
  }

  rule(site: string, hostNames: string[]): MxRule {
    let r = this.ruleCache.get(site);
    if (!r) this.ruleCache.set(site, (r = this.mxRules().match(hostNames)));
    return r;
  }

  state(site: string, source: string | null, now = Date.now()): ShapedState {
    const part = this.shares(site);
    return { ...this.adaptations.state(site, source, now), share: part ? part.share : 1, connections: part ? part.connections : null, outOf: part ? part.outOf : null };
  }

  /** The site's connections per path that the MTA processes split between them: the rule's under the site's throttle. */
  connectionsToSplit(site: string, rule: MxRule, now = Date.now()): number {
    return throttledConnections(rule, this.adaptations.state(site, null, now).factor);
  }

  /**
   * This process's connections per path. Alone, the rule's under the throttle. Sharing the
   * site, its part, which the heartbeat split from the throttled total so that the processes'
   * parts add up to it; when a throttle tightened since that heartbeat, the part scaled down to
   * it at once (rounding down: a part may become none until the next heartbeat splits the new
   * total), so that the sum never exceeds the throttled rule, even for a moment.
   */
  maxConnectionsPerPath(rule: MxRule, st: ShapedState): number {
    const limit = throttledConnections(rule, st.factor);
    if (st.connections === null) return limit;
    if (st.outOf === null || st.outOf <= limit) return Math.min(st.connections, limit);
    return Math.floor((st.connections * limit) / st.outOf);
  }

  /** 0 when a message may go now (the token is taken), else milliseconds to wait. */
  acquire(site: string, rule: MxRule, source: string | null, st: ShapedState, now = Date.now()): number {
    if (st.share <= 0) return NO_SHARE_WAIT_MS;
    if (!rule.messagesPerMinute && !rule.messagesPerHour) return 0;
    const key = rule.shared ? site : `${site}|${source ?? ''}`;
    let b = this.buckets.get(key);
    if (!b) {
      b = {
        minute: rule.messagesPerMinute ? new TokenBucket(rule.messagesPerMinute / 60, burstFor(rule.messagesPerMinute / 60), now) : null,
        hour: rule.messagesPerHour ? new TokenBucket(rule.messagesPerHour / 3600, burstFor(rule.messagesPerHour / 3600), now) : null,
      };
      this.buckets.set(key, b);
    }
    for (const [bucket, perSecond] of [[b.minute, (rule.messagesPerMinute ?? 0) / 60], [b.hour, (rule.messagesPerHour ?? 0) / 3600]] as const) {
      if (!bucket) continue;
      const want = perSecond * this.scale(st);
      if (Math.abs(bucket.rate - want) > want * 0.01) bucket.setRate(want, burstFor(want), now);
    }
    const wait = Math.max(b.minute?.waitMs(now) ?? 0, b.hour?.waitMs(now) ?? 0);
    if (wait > 0) return wait;
    b.minute?.take(now);
    b.hour?.take(now);
    return 0;
  }

  pathOpen(source: string | null, mxIp: string): number {
    return this.paths.get(`${source ?? ''}>${mxIp}`) ?? 0;
  }

  openPath(source: string | null, mxIp: string): void {
    const k = `${source ?? ''}>${mxIp}`;
    this.paths.set(k, (this.paths.get(k) ?? 0) + 1);
  }

  closePath(source: string | null, mxIp: string): void {
    const k = `${source ?? ''}>${mxIp}`;
    const n = (this.paths.get(k) ?? 1) - 1;
    if (n <= 0) this.paths.delete(k);
    else this.paths.set(k, n);
  }

  /** Feeds one reply to the adaptive rules and the circuit breaker. */
  async observe(site: string, source: string | null, reply: SmtpReply, now = Date.now()): Promise<ReplyReaction> {
    const cls = replyClass(reply);
    const tripped = cls === 2 ? this.breaker.record(site, false, now) : this.breaker.record(site, true, now);
    if (tripped !== null) {
      const p = this.adaptiveRules().circuitBreaker;
      const adaptation = await this.adaptations.add({ site, source: null, rule: 'circuit-breaker', action: 'suspend', factor: null, reason: `${Math.round(tripped * 100)} % of the last attempts failed (last: ${formatSmtpReply(reply)})`, until: now + p.duration, recoveryMs: 0 }, now);
      return { adaptation, bounce: false };
    }
    if (cls === 2) return { adaptation: null, bounce: false };
    const rule = this.adaptiveRules().match(reply);
    if (!rule) return { adaptation: null, bounce: false };
    if (!this.adaptations.triggered(rule, site, source, now)) return { adaptation: null, bounce: false };
    if (rule.action === 'bounce') return { adaptation: null, bounce: true };
    return { adaptation: await this.adaptations.fire(rule, site, source, formatSmtpReply(reply), now), bounce: false };
  }
}

/** A burst of about one second of traffic keeps each minute within a few percent of the rate. */
function burstFor(perSecond: number): number {
  return Math.max(1, Math.round(perSecond));
}
