/**
 * When a failing endpoint is tried again, and when it is given up: 1 s after the first
 * failure, doubling, at most 1 h apart; disabled once it has failed for the whole horizon
 * (24 h by default, `webhooks.retryFor`) without one 2xx. Pure functions of the counts and
 * times, so the dispatcher and its tests agree.
 */
import { backoffDelay } from '../lib/backoff.ts';

export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
  /** Failing this long since the first failure in a row disables the endpoint. */
  retryForMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { initialMs: 1000, maxMs: 3_600_000, retryForMs: 24 * 3_600_000 };

/** Delay before the next attempt after `failures` failures in a row (1 = the first). */
export function retryDelayMs(policy: RetryPolicy, failures: number, random: () => number = Math.random): number {
  // A little jitter so endpoints that failed together (a receiver's outage) do not come back together.
  return backoffDelay({ initialMs: policy.initialMs, factor: 2, maxMs: policy.maxMs, jitter: 0.1 }, failures, random);
}

/** True when an endpoint failing since `failingSince` has used up its horizon at `now`. */
export function givenUp(policy: RetryPolicy, failingSince: number, now: number): boolean {
  return now - failingSince >= policy.retryForMs;
}
