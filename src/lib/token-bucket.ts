/**
 * A token bucket: `ratePerSecond` tokens flow in continuously up to `burst`. Taking a token
 * either succeeds now or says how long until one is available, so callers can sleep exactly
 * that long instead of polling. The rate can change at run time (adaptive throttling).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private ratePerSecond: number,
    private burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  setRate(ratePerSecond: number, burst = this.burst, now = Date.now()): void {
    this.refill(now);
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  get rate(): number {
    return this.ratePerSecond;
  }

  /** Takes one token; returns 0 when taken, else the milliseconds until one will be there. */
  take(now = Date.now()): number {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    if (this.ratePerSecond <= 0) return Number.POSITIVE_INFINITY;
    return Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }

  /** Milliseconds until a token is available, without taking it. */
  waitMs(now = Date.now()): number {
    this.refill(now);
    if (this.tokens >= 1) return 0;
    if (this.ratePerSecond <= 0) return Number.POSITIVE_INFINITY;
    return Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerSecond);
    this.last = now;
  }
}
