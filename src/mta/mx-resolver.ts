/**
 * MX resolution (RFC 5321 §5.1): MX records in preference order, each host's IPv4
 * addresses, the implicit MX (the domain's own A record) when there is no MX, and null MX
 * (RFC 7505). Uses node's DNS resolver on configurable servers, with a cache. Failures are
 * values that say whether they are permanent (no such domain) or temporary (try later).
 */
import { Resolver } from 'node:dns/promises';

export interface MxHost {
  name: string;
  preference: number;
  ips: string[];
}

export type MxResult =
  | { ok: true; domain: string; hosts: MxHost[]; site: string }
  | { ok: false; domain: string; permanent: boolean; enhanced: string; text: string };

export interface MxResolverOptions {
  servers?: string[];
  timeoutMs?: number;
  tries?: number;
  cacheTtlMs?: number;
}

const PERMANENT_DNS = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);

export class MxResolver {
  private readonly resolver: Resolver;
  private readonly cache = new Map<string, { at: number; result: Promise<MxResult> }>();
  private readonly ttl: number;

  constructor(options: MxResolverOptions = {}) {
    this.resolver = new Resolver({ timeout: options.timeoutMs ?? 5000, tries: options.tries ?? 2 });
    if (options.servers?.length) this.resolver.setServers(options.servers);
    this.ttl = options.cacheTtlMs ?? 300_000;
  }

  /** Resolves a domain; concurrent calls for one domain share one lookup. */
  resolve(domain: string): Promise<MxResult> {
    const now = Date.now();
    const hit = this.cache.get(domain);
    if (hit && now - hit.at < this.ttl) return hit.result;
    const result = this.lookup(domain);
    this.cache.set(domain, { at: now, result });
    // Temporary failures are not worth remembering: the next message should try again.
    result.then((r) => {
      if (!r.ok && !r.permanent) this.cache.delete(domain);
    });
    if (this.cache.size > 50_000) this.cache.delete(this.cache.keys().next().value as string);
    return result;
  }

  clear(): void {
    this.cache.clear();
  }

  private async lookup(domain: string): Promise<MxResult> {
    let records: { exchange: string; priority: number }[];
    try {
      records = await this.resolver.resolveMx(domain);
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (code === 'ENODATA') return this.implicitMx(domain);
      if (code === 'ENOTFOUND') return fail(domain, true, '5.1.2', `domain ${domain} does not exist (DNS: NXDOMAIN)`);
      return fail(domain, false, '4.4.3', `DNS lookup of MX for ${domain} failed: ${code || (err as Error).message}`);
    }
    if (records.length === 0) return this.implicitMx(domain);
    if (records.length === 1 && (records[0].exchange === '' || records[0].exchange === '.')) {
      return fail(domain, true, '5.1.10', `domain ${domain} accepts no mail (null MX)`);
    }
    const sorted = [...records].sort((a, b) => a.priority - b.priority || a.exchange.localeCompare(b.exchange));
    const hosts = await Promise.all(sorted.map(async (r) => ({ name: r.exchange.toLowerCase().replace(/\.$/, ''), preference: r.priority, ips: await this.addresses(r.exchange) })));
    const reachable = hosts.filter((h) => h.ips.length > 0);
    if (reachable.length === 0) {
      const temporary = hosts.some((h) => h.ips === TEMPORARY);
      return temporary
        ? fail(domain, false, '4.4.3', `DNS lookup of the MX hosts of ${domain} failed`)
        : fail(domain, true, '5.1.2', `no MX host of ${domain} has an address (${hosts.map((h) => h.name).join(', ')})`);
    }
    return { ok: true, domain, hosts: reachable, site: siteName(reachable) };
  }

  private async implicitMx(domain: string): Promise<MxResult> {
    const ips = await this.addresses(domain);
    if (ips === TEMPORARY) return fail(domain, false, '4.4.3', `DNS lookup of ${domain} failed`);
    if (ips.length === 0) return fail(domain, true, '5.1.2', `domain ${domain} has no MX record and no address`);
    const hosts = [{ name: domain, preference: 0, ips }];
    return { ok: true, domain, hosts, site: siteName(hosts) };
  }

  private async addresses(host: string): Promise<string[]> {
    try {
      return await this.resolver.resolve4(host);
    } catch (err) {
      return PERMANENT_DNS.has((err as { code?: string }).code ?? '') ? [] : TEMPORARY;
    }
  }
}

// A distinct empty array marks "could not find out" as opposed to "has no address".
const TEMPORARY: string[] = [];

function fail(domain: string, permanent: boolean, enhanced: string, text: string): MxResult {
  return { ok: false, domain, permanent, enhanced, text };
}

/**
 * The site of a set of MX hosts: domains served by the same hosts share one site, and so one
 * set of connection and rate limits (all domains of one provider are shaped together).
 */
export function siteName(hosts: MxHost[]): string {
  return [...new Set(hosts.map((h) => h.name))].sort().join(',');
}
