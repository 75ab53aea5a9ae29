/**
 * Sending IPs: pools (Campaign's IP affinities) of local addresses, each with its HELO name,
 * a weight (relative share of traffic), include/exclude domain masks, and optionally a
 * warm-up plan: a schedule of daily caps per provider (per MX rule) that rises with the days
 * since the IP's warm-up started. Without a file, one implicit IP: the system's default.
 */
import { z } from 'zod';
import { globToRegExp } from '../lib/glob.ts';
import { parsePolicy, readYamlFile, type LayeredFiles } from './policy-file.ts';

const ipSchema = z
  .object({
    address: z.string().regex(/^[\d.]+$|^[0-9a-f:]+$/i, 'an IPv4 or IPv6 address'),
    helo: z.string().optional(),
    weight: z.number().positive().default(1),
    includeDomains: z.array(z.string()).default(['*']),
    excludeDomains: z.array(z.string()).default([]),
    warmup: z.string().optional(),
    /** The first day of the warm-up, YYYY-MM-DD (UTC). */
    warmupStart: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date written YYYY-MM-DD').optional(),
  })
  .strict();

const planSchema = z
  .object({
    /** Daily cap per provider from a given day of the warm-up on (day 1 is the first day). */
    schedule: z.array(z.object({ fromDay: z.number().int().min(1), cap: z.number().int().min(0) }).strict()).min(1),
  })
  .strict();

const fileSchema = z
  .object({
    pools: z.record(z.string(), z.object({ ips: z.array(ipSchema).min(1) }).strict()).default({}),
    warmupPlans: z.record(z.string(), planSchema).default({}),
  })
  .strict();

export interface SendingIp {
  address: string | null;
  helo: string | null;
  weight: number;
  include: RegExp[];
  exclude: RegExp[];
  warmup: { plan: string; startDay: number; schedule: { fromDay: number; cap: number }[] } | null;
}

export interface SendingIps {
  pools: Map<string, SendingIp[]>;
  files: string[];
  /** The pool a delivery names, or the default pool. */
  pool(name: string | null | undefined): SendingIp[];
}

const DAY = 86_400_000;

export function loadSendingIps(files: LayeredFiles, fallback: { address?: string; helo?: string } = {}): SendingIps {
  const layers = [files.operator, files.shipped].filter((f): f is string => Boolean(f));
  const parsed = layers.map((file) => ({ file, doc: parsePolicy(file, fileSchema, readYamlFile(file)) }));
  const plans = Object.assign({}, ...parsed.map((p) => p.doc.warmupPlans).reverse()) as Record<string, z.output<typeof planSchema>>;
  const pools = new Map<string, SendingIp[]>();
  for (const { file, doc } of [...parsed].reverse()) {
    for (const [name, pool] of Object.entries(doc.pools)) {
      pools.set(
        name,
        pool.ips.map((ip) => {
          if (ip.warmup && !plans[ip.warmup]) throw new Error(`${file}: pools.${name}: warm-up plan "${ip.warmup}" is not defined under warmupPlans`);
          if (ip.warmup && !ip.warmupStart) throw new Error(`${file}: pools.${name}: ${ip.address} has a warm-up plan but no warmupStart date`);
          return {
            address: ip.address,
            helo: ip.helo ?? null,
            weight: ip.weight,
            include: ip.includeDomains.map(globToRegExp),
            exclude: ip.excludeDomains.map(globToRegExp),
            warmup: ip.warmup ? { plan: ip.warmup, startDay: Math.floor(Date.parse(`${ip.warmupStart}T00:00:00Z`) / DAY), schedule: [...plans[ip.warmup].schedule].sort((a, b) => a.fromDay - b.fromDay) } : null,
          };
        }),
      );
    }
  }
  if (!pools.has('default')) {
    pools.set('default', [{ address: fallback.address ?? null, helo: fallback.helo ?? null, weight: 1, include: [globToRegExp('*')], exclude: [], warmup: null }]);
  }
  return {
    pools,
    files: layers,
    pool: (name) => pools.get(name ?? 'default') ?? pools.get('default')!,
  };
}

/** Today's cap for an IP in warm-up (per provider), or null when it is warm. */
export function warmupCap(ip: SendingIp, now = Date.now()): number | null {
  if (!ip.warmup) return null;
  const day = Math.floor(now / DAY) - ip.warmup.startDay + 1;
  if (day < 1) return 0;
  const steps = ip.warmup.schedule;
  if (day > steps[steps.length - 1].fromDay + 6) return null; // a week past the last step: warm
  let cap = 0;
  for (const s of steps) if (day >= s.fromDay) cap = s.cap;
  return cap;
}
