/**
 * Campaign's circuit breaker: per site, the attempts and errors of the last window, in
 * one-minute buckets; when a site has at least `minMessages` attempts and an error share of
 * `errorRate` or more, it trips (the engine then suspends the site for the policy's duration).
 */
import type { CircuitBreakerPolicy } from '../../config/adaptive-rules.ts';

export class CircuitBreaker {
  private readonly sites = new Map<string, Map<number, { n: number; errors: number }>>();

  constructor(private policy: CircuitBreakerPolicy) {}

  setPolicy(policy: CircuitBreakerPolicy): void {
    this.policy = policy;
  }

  /** Records one attempt; returns the error share when the site should trip, else null. */
  record(site: string, error: boolean, now = Date.now()): number | null {
    const minute = Math.floor(now / 60_000);
    let buckets = this.sites.get(site);
    if (!buckets) this.sites.set(site, (buckets = new Map()));
    const b = buckets.get(minute) ?? { n: 0, errors: 0 };
    b.n++;
    if (error) b.errors++;
    buckets.set(minute, b);
    const oldest = minute - Math.ceil(this.policy.window / 60_000);
    let n = 0;
    let errors = 0;
    for (const [m, v] of buckets) {
      if (m <= oldest) buckets.delete(m);
      else {
        n += v.n;
        errors += v.errors;
      }
    }
    if (n >= this.policy.minMessages && errors / n >= this.policy.errorRate) {
      // Start counting afresh: the suspension is the answer to this window.
      buckets.clear();
      return errors / n;
    }
    return null;
  }
}
