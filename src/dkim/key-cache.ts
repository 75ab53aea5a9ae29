/**
 * The signer's in-memory copy of the active DKIM keys, grouped by domain. Before a batch
 * it reads the keys' version (one small indexed read), at most once a second, and reloads
 * the keys only when the version changed: a key created, deactivated or deleted through
 * this process signs, or stops signing, from the next batch on; through another process,
 * within a second. The read had been one of five round trips before each single send-API
 * call on PostgreSQL.
 */
import type { Q } from '../db/index.ts';
import { activeKeys, keyChangesHere, keysVersion, normalizeDomain } from './store.ts';
import type { PoolKey } from './sign-pool.ts';
import { organizationalDomain } from '../mail/organizational-domain.ts';

/** How long a read of the keys' version stands for changes made by other processes. */
export const KEY_VERSION_TTL_MS = 1000;

export class DkimKeyCache {
  private version: string | null = null;
  private checkedAt = 0;
  private changesSeen = -1;
  private byDomain = new Map<string, PoolKey[]>();

  constructor(
    private readonly q: Q,
    /** The instance's secret, which opens the sealed private keys. */
    private readonly secret: string,
  ) {}

  /** The active keys of a sender domain (none: the messages go unsigned). */
  async keysFor(domain: string): Promise<PoolKey[]> {
    await this.refresh();
    let d: string;
    try {
      d = normalizeDomain(domain);
    } catch {
      return [];
    }
    return this.byDomain.get(d) ?? [];
  }

  /**
   * The keys that sign a From domain's mail: its own, or else its organizational domain's
   * (news.shop.example signed with d=shop.example passes DMARC's relaxed alignment).
   */
  async keysAligned(domain: string): Promise<PoolKey[]> {
    const own = await this.keysFor(domain);
    if (own.length) return own;
    const org = organizationalDomain(domain);
    return org === domain.toLowerCase() ? [] : this.keysFor(org);
  }

  async refresh(): Promise<void> {
    const now = Date.now();
    if (this.changesSeen === keyChangesHere() && now - this.checkedAt < KEY_VERSION_TTL_MS) return;
    const changes = keyChangesHere();
    const version = await keysVersion(this.q);
    this.checkedAt = now;
    this.changesSeen = changes;
    if (version === this.version) return;
    const byDomain = new Map<string, PoolKey[]>();
    for (const k of await activeKeys(this.q, this.secret)) {
      const list = byDomain.get(k.domain) ?? [];
      list.push(k);
      byDomain.set(k.domain, list);
    }
    this.byDomain = byDomain;
    this.version = version;
  }
}
