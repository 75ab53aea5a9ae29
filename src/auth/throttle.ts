/**
 * Sign-in throttling: counts failed sign-ins per account and per source address, and locks
 * a key out for a time that doubles with every failure past the free ones. An attempt is
 * reserved before its password is checked (synchronously, so requests arriving together
 * cannot all pass the check while the slow scrypt runs), and a key lets no more attempts
 * run at once than it has failures left. Memory is bounded: each counter keeps at most
 * `maxEntries` keys and forgets the least recently used. It does not know who a user is,
 * nor anything about HTTP; the route turns a refusal into a 429.
 */

export interface ThrottleLimits {
  /** Failures allowed before the first lock. */
  free: number;
  /** The first lock; every further failure doubles it, up to maxLockMs. */
  baseLockMs: number;
  maxLockMs: number;
  /** A key with no failure for this long starts again from zero. */
  forgetMs: number;
  maxEntries: number;
}

export const ACCOUNT_LIMITS: ThrottleLimits = { free: 10, baseLockMs: 60_000, maxLockMs: 3600_000, forgetMs: 24 * 3600_000, maxEntries: 100_000 };
/** Higher than an account's, so one person mistyping on a shared address does not lock the others out; it stops spraying one password over many names. */
export const SOURCE_LIMITS: ThrottleLimits = { free: 100, baseLockMs: 60_000, maxLockMs: 3600_000, forgetMs: 24 * 3600_000, maxEntries: 100_000 };

interface Entry {
  failures: number;
  /** Attempts admitted whose password check has not ended. */
  pending: number;
  lockedUntil: number;
  lastFailure: number;
}

/** 'error': the check could not be made (a database error); it frees the reservation and counts nothing. */
export type Outcome = 'success' | 'failure' | 'error';
export type Admission =
  | { ok: true; done(outcome: Outcome): void }
  | { ok: false; by: 'account' | 'source'; retryAfterMs: number };

/** While earlier attempts are still being checked, the next one may come this much later. */
const BUSY_RETRY_MS = 1000;

class Counter {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  private readonly entries = new Map<string, Entry>();
  constructor(private readonly limits: ThrottleLimits) {}

  get size(): number {
    return this.entries.size;
  }

  private entry(key: string, now: number): Entry {
    let e = this.entries.get(key);
    if (e) this.entries.delete(key);
    if (!e || (e.pending === 0 && e.failures > 0 && now - e.lastFailure > this.limits.forgetMs)) e = { failures: 0, pending: 0, lockedUntil: 0, lastFailure: 0 };
    this.entries.set(key, e);
    if (this.entries.size > this.limits.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return e;
  }

  /** How long the key must wait, or 0 when an attempt may start now. */
  wait(key: string, now: number): number {
    const e = this.entry(key, now);
    if (now < e.lockedUntil) return e.lockedUntil - now;
    return e.pending < Math.max(1, this.limits.free - e.failures) ? 0 : BUSY_RETRY_MS;
  }

  reserve(key: string, now: number): Entry {
    const e = this.entry(key, now);
    e.pending++;
    return e;
  }

  settle(key: string, e: Entry, outcome: Outcome, reset: boolean, now: number): void {
    e.pending--;
    if (outcome === 'error') return;
    if (outcome === 'success') {
      if (reset && e.pending === 0) this.entries.delete(key);
      return;
    }
    e.failures++;
    e.lastFailure = now;
    const over = e.failures - this.limits.free;
    if (over >= 0) e.lockedUntil = Math.max(e.lockedUntil, now + Math.min(this.limits.maxLockMs, this.limits.baseLockMs * 2 ** Math.min(over, 30)));
  }
}

export class LoginThrottle {
  private readonly accounts: Counter;
  private readonly sources: Counter;
  constructor(account: ThrottleLimits = ACCOUNT_LIMITS, source: ThrottleLimits = SOURCE_LIMITS) {
    this.accounts = new Counter(account);
    this.sources = new Counter(source);
  }

  /** Keys held, for tests and metrics. */
  get size(): { accounts: number; sources: number } {
    return { accounts: this.accounts.size, sources: this.sources.size };
  }

  /**
   * Reserves an attempt for `account` from `source`, or says how long to wait. The caller
   * must call `done` once the password is checked, whatever happens.
   */
  admit(account: string, source: string, now = Date.now()): Admission {
    const a = account.trim().toLowerCase();
    const s = sourceKey(source);
    const accountWait = this.accounts.wait(a, now);
    const sourceWait = this.sources.wait(s, now);
    if (accountWait || sourceWait) {
      return accountWait >= sourceWait ? { ok: false, by: 'account', retryAfterMs: accountWait } : { ok: false, by: 'source', retryAfterMs: sourceWait };
    }
    const ea = this.accounts.reserve(a, now);
    const es = this.sources.reserve(s, now);
    let settled = false;
    return {
      ok: true,
      done: (outcome) => {
        if (settled) return;
        settled = true;
        const end = Date.now();
        // A success clears the account's failures, not the address's: an attacker who owns one
        // account must not be able to wipe the count of guesses made at others.
        this.accounts.settle(a, ea, outcome, true, end);
        this.sources.settle(s, es, outcome, false, end);
      },
    };
  }
}

/** IPv6 clients get a /64 each, so one machine cannot take a fresh address per guess. */
export function sourceKey(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4[1];
  if (!ip.includes(':')) return ip;
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** "45 seconds", "2 minutes", "1 hour": how long a refused client must wait, in words. */
export function waitInWords(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  const [n, unit] = s < 120 ? [s, 'second'] : s < 7200 ? [Math.ceil(s / 60), 'minute'] : [Math.ceil(s / 3600), 'hour'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
