/**
 * When a message that found its site's ready queue full should come back to the spool's due
 * list: after what is already waiting for the site, at the rate this process may send to it.
 * Each site keeps a horizon that moves on with every message parked, so a backlog of a
 * million spreads out over the time the site needs to take it, and every message is claimed
 * about once instead of every few seconds. Times are rounded to 100 messages' worth, so
 * messages go back in few statements. Not here: the rate itself (the rule, scaled by the
 * shaper for throttles and this process's share).
 */
import type { MxRule } from '../config/mx-rules.ts';

export class ParkHorizon {
  private readonly horizons = new Map<string, number>();

  /**
   * @param scale the factor on the rule's rate in force for this process (throttles, share)
   * @param queued messages already in the site's ready queue
   */
  next(site: string, rule: MxRule, scale: number, queued: number, now: number): number {
    const perSecond = (rule.messagesPerMinute ? rule.messagesPerMinute / 60 : rule.messagesPerHour ? rule.messagesPerHour / 3600 : rule.maxConnections * 50) * scale;
    const gap = 1000 / perSecond;
    const horizon = Math.max(this.horizons.get(site) ?? 0, now + Math.max(2000, queued * gap));
    this.horizons.set(site, horizon + gap);
    const block = gap * 100;
    return Math.ceil(horizon / block) * block;
  }
}
