/**
 * Exponential backoff with jitter, as a pure function of the attempt number.
 * Callers decide what an attempt is and when to stop (e.g. the validity period).
 */

export interface BackoffPolicy {
  initialMs: number;
  factor: number;
  maxMs: number;
  /** Fraction of the delay randomly added or removed, 0..1, so retries of a batch spread out. */
  jitter?: number;
}

/** Delay before retry number `attempt` (1 = first retry). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt - 1)));
  const jitter = policy.jitter ?? 0.1;
  return Math.max(0, Math.round(base * (1 + jitter * (2 * random() - 1))));
}
