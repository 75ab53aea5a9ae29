/**
 * How fast each caller (API key, or signed-in user) may send through the send API: a token
 * bucket per caller, `perSecond` messages flowing in up to `burst` (config api.sendRate). A
 * single call takes one token, a batch one per message. A batch larger than the burst may go
 * when the bucket is full, and leaves it in debt: it then waits as long as its messages
 * would have. A call refused says when to come back (429 and Retry-After, by the route).
 * The buckets are per process: with several API processes, each allows the rate.
 */
export interface SendRate {
  /** Messages per second per caller; 0 turns the limit off. */
  perSecond: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class SendRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly rate: SendRate) {}

  /** Takes `n` tokens for the caller; 0 when taken, else the milliseconds to wait (nothing taken). */
  take(caller: string, n: number, now = Date.now()): number {
    const { perSecond, burst } = this.rate;
    if (perSecond <= 0) return 0;
    let b = this.buckets.get(caller);
    if (!b) {
      if (this.buckets.size >= 10_000) this.sweep(now);
      b = { tokens: burst, at: now };
      this.buckets.set(caller, b);
    }
    b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.at) / 1000) * perSecond);
    b.at = now;
    const needed = Math.min(n, burst);
    if (b.tokens >= needed) {
      b.tokens -= n;
      return 0;
    }
    return Math.ceil(((needed - b.tokens) / perSecond) * 1000);
  }

  /** Forgets the callers whose buckets have filled up again: they are as new. */
  private sweep(now: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.rate.perSecond >= this.rate.burst) this.buckets.delete(k);
  }
}
