/**
 * The simulated providers' defences, as state: concurrent connections per sending IP,
 * message rate per sending IP (token buckets) and greylisting of (IP, sender, recipient).
 *
 * Mechanism only: the limits come from the provider profiles, the replies are chosen by
 * `mx-server.ts`. Memory stays bounded: a few entries per sending IP, and a greylist that
 * forgets its oldest triplets past a cap.
 */

interface ConnectionSlot {
  ip: string;
  provider: string;
  limit: number;
  current: number;
  maxConcurrent: number;
  opened: number;
  refused: number;
}

interface MxSlot {
  ip: string;
  mxHost: string;
  provider: string;
  current: number;
  maxConcurrent: number;
  opened: number;
  refused: number;
}

export interface ConnectionStats {
  /** Per (sending IP, MX host): what the MTA's per-host shaping is judged by. */
  byMxHost: { ip: string; mxHost: string; provider: string; opened: number; refused: number; maxConcurrent: number }[];
  /** Per (sending IP, provider): the limit is enforced here, across the provider's MX hosts. */
  byProvider: { ip: string; provider: string; opened: number; refused: number; maxConcurrent: number; limit: number }[];
}

/** Counts open connections per sending IP and refuses those past the provider's limit. */
export class ConnectionLimiter {
  private readonly providers = new Map<string, ConnectionSlot>();
  private readonly hosts = new Map<string, MxSlot>();

  /** Registers a new connection; false when it must be refused (counted as refused). */
  open(ip: string, provider: string, mxHost: string, limit: number): boolean {
    const pKey = `${ip}|${provider}`;
    let p = this.providers.get(pKey);
    if (!p) this.providers.set(pKey, (p = { ip, provider, limit, current: 0, maxConcurrent: 0, opened: 0, refused: 0 }));
    const hKey = `${ip}|${mxHost}`;
    let h = this.hosts.get(hKey);
    if (!h) this.hosts.set(hKey, (h = { ip, mxHost, provider, current: 0, maxConcurrent: 0, opened: 0, refused: 0 }));
    p.limit = limit;
    if (p.current >= limit) {
      p.refused++;
      h.refused++;
      return false;
    }
    p.current++;
    p.opened++;
    p.maxConcurrent = Math.max(p.maxConcurrent, p.current);
    h.current++;
    h.opened++;
    h.maxConcurrent = Math.max(h.maxConcurrent, h.current);
    return true;
  }

  /** Releases a connection that `open` accepted. */
  close(ip: string, provider: string, mxHost: string): void {
    const p = this.providers.get(`${ip}|${provider}`);
    const h = this.hosts.get(`${ip}|${mxHost}`);
    if (p && p.current > 0) p.current--;
    if (h && h.current > 0) h.current--;
  }

  stats(): ConnectionStats {
    return {
      byMxHost: [...this.hosts.values()].map(({ ip, mxHost, provider, opened, refused, maxConcurrent }) => ({ ip, mxHost, provider, opened, refused, maxConcurrent })),
      byProvider: [...this.providers.values()].map(({ ip, provider, opened, refused, maxConcurrent, limit }) => ({ ip, provider, opened, refused, maxConcurrent, limit })),
    };
  }
}

/** Token buckets per key (sending IP + provider): `perSecond` refill, `burst` capacity. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  /** Takes one token; false when the bucket is empty (nothing is taken then). */
  take(key: string, perSecond: number, burst: number): boolean {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { tokens: burst, at: now }));
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/**
 * Greylisting as postgrey does it: the first attempt of a triplet is refused, and so is
 * every retry until `seconds` have passed since that first attempt; after that it passes.
 */
export class Greylist {
  private readonly firstSeen = new Map<string, number>();
  constructor(
    private readonly maxEntries = 500_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the attempt must be refused now. */
  refuses(ip: string, from: string, to: string, seconds: number): boolean {
    const key = `${ip}\u0000${from}\u0000${to}`;
    const first = this.firstSeen.get(key);
    const now = this.now();
    if (first === undefined) {
      if (this.firstSeen.size >= this.maxEntries) {
        // Maps iterate in insertion order: the first key is the oldest triplet.
        const oldest = this.firstSeen.keys().next().value;
        if (oldest !== undefined) this.firstSeen.delete(oldest);
      }
      this.firstSeen.set(key, now);
      return seconds > 0;
    }
    return now - first < seconds * 1000;
  }
}
