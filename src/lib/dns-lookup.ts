/**
 * DNS lookups for checks (TXT, PTR, addresses) through configured servers ("host:port"), with
 * a short deadline per lookup and a cache: answers, and "no such record", are kept for the
 * cache's lifetime; a lookup that got no answer (timeout, SERVFAIL, refused) is not kept,
 * so the next check asks again. Results are values that tell "missing" from "could not ask".
 * Knows nothing of email; it is node's c-ares resolver, so the main thread never waits on it.
 */
import { Resolver } from 'node:dns/promises';

export type Lookup<T> =
  | { ok: true; records: T[] }
  /** The name does not exist (NXDOMAIN) or has no record of that type (NODATA). */
  | { ok: false; missing: true; code: string }
  /** No usable answer: the check could not be made. */
  | { ok: false; missing: false; code: string };

export interface DnsLookupOptions {
  /** "host" or "host:port"; empty: the system's servers. */
  servers?: string[];
  timeoutMs?: number;
  cacheTtlMs?: number;
}

const MISSING = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);
type RecordType = 'TXT' | 'PTR' | 'A' | 'AAAA';

export class DnsLookup {
  private readonly resolver: Resolver;
  private readonly timeoutMs: number;
  private readonly ttl: number;
  private readonly cache = new Map<string, { at: number; result: Promise<Lookup<unknown>> }>();

  constructor(options: DnsLookupOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.resolver = new Resolver({ timeout: this.timeoutMs, tries: 1 });
    if (options.servers?.length) this.resolver.setServers(options.servers);
    this.ttl = options.cacheTtlMs ?? 60_000;
  }

  /** TXT records, each one's strings joined (as SPF, DKIM and DMARC read them). */
  txt(name: string): Promise<Lookup<string>> {
    return this.cached('TXT', name) as Promise<Lookup<string>>;
  }

  /** The names an address's PTR records give. */
  ptr(ip: string): Promise<Lookup<string>> {
    return this.cached('PTR', ip) as Promise<Lookup<string>>;
  }

  /** A (or AAAA) records of a name. */
  addresses(name: string, family: 4 | 6 = 4): Promise<Lookup<string>> {
    return this.cached(family === 4 ? 'A' : 'AAAA', name) as Promise<Lookup<string>>;
  }

  /**
   * The raw lookup in the shape node's dns.resolve has (records, or a thrown error with a
   * code), for libraries that take a resolver function (mailauth's SPF). Cached like the rest.
   */
  readonly resolve = async (name: string, type: string): Promise<unknown[]> => {
    const t = type.toUpperCase();
    if (t !== 'TXT' && t !== 'A' && t !== 'AAAA' && t !== 'MX') throw Object.assign(new Error(`unsupported DNS type ${type}`), { code: 'ENOTIMP' });
    const r = t === 'MX' ? await this.query('MX', name) : t === 'TXT' ? await this.rawTxt(name) : await this.cached(t as 'A' | 'AAAA', name);
    if (r.ok) return r.records;
    throw Object.assign(new Error(`DNS ${t} ${name}: ${r.code}`), { code: r.code });
  };

  private rawTxt(name: string): Promise<Lookup<string[]>> {
    return this.cachedWith('TXT-raw', name, () => this.query('TXT', name) as Promise<Lookup<string[]>>);
  }

  private cached(type: RecordType, name: string): Promise<Lookup<unknown>> {
    if (type === 'TXT') {
      return this.cachedWith('TXT', name, async () => {
        const raw = await this.rawTxt(name);
        return raw.ok ? { ok: true, records: raw.records.map((chunks) => chunks.join('')) } : raw;
      });
    }
    return this.cachedWith(type, name, () => this.query(type, name));
  }

  private cachedWith<T>(kind: string, name: string, run: () => Promise<Lookup<T>>): Promise<Lookup<T>> {
    const key = `${kind} ${name.toLowerCase()}`;
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < this.ttl) return hit.result as Promise<Lookup<T>>;
    const result = run();
    this.cache.set(key, { at: now, result });
    void result.then((r) => {
      if (!r.ok && !r.missing) this.cache.delete(key);
    });
    if (this.cache.size > 10_000) this.cache.delete(this.cache.keys().next().value as string);
    return result;
  }

  private async query(type: RecordType | 'MX', name: string): Promise<Lookup<unknown>> {
    let timer: NodeJS.Timeout | undefined;
    // c-ares has its own timeout per server; this bounds the whole lookup whatever the servers.
    const deadline = new Promise<Lookup<unknown>>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, missing: false, code: 'ETIMEOUT' }), this.timeoutMs + 500);
    });
    const ask = (async (): Promise<Lookup<unknown>> => {
      try {
        // resolvePtr, not reverse: reverse reports a timeout as ENOTFOUND, a missing record.
        const records = type === 'PTR' ? await this.resolver.resolvePtr(reverseName(name)) : await this.resolver.resolve(name, type);
        return { ok: true, records: records as unknown[] };
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'EUNKNOWN';
        return MISSING.has(code) ? { ok: false, missing: true, code } : { ok: false, missing: false, code };
      }
    })();
    try {
      return await Promise.race([ask, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The name a PTR record of an address lives at: 1.2.0.192.in-addr.arpa, or the ip6.arpa nibbles. */
export function reverseName(ip: string): string {
  if (!ip.includes(':')) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const groups = (p: string) => (p ? p.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${all.map((g) => g.padStart(4, '0')).join('').split('').reverse().join('.')}.ip6.arpa`;
}
