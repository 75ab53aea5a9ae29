/**
 * The machine-engagement policy (policy/machine-engagement.yaml): which user agents and
 * source addresses are mail privacy proxies or link scanners, and the timings that tell a
 * machine's open or click from a person's. The operator's file of the same name adds agents
 * after the shipped ones and overrides timings key by key. Validated with zod; an error
 * names the file and the key. Does not judge events (tracking/machine.ts does).
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { durationSchema, parsePolicy, readYamlFile, type LayeredFiles } from './policy-file.ts';

const cidr = z.string().refine((s) => {
  const [addr, bits, extra] = s.split('/');
  const family = isIP(addr ?? '');
  const n = Number(bits);
  return extra === undefined && family !== 0 && Number.isInteger(n) && n >= 0 && n <= (family === 4 ? 32 : 128);
}, 'a CIDR range such as 17.0.0.0/8 or 2a01:111:f400::/48');

const regex = z.string().max(1000).refine((s) => {
  try {
    new RegExp(s, 'i');
    return true;
  } catch {
    return false;
  }
}, 'a valid regular expression');

const agentSchema = z
  .object({
    name: z.string().min(1).max(100),
    kind: z.enum(['machine', 'proxy', 'scanner']),
    userAgent: regex.optional(),
    ranges: z.array(cidr).max(10_000).optional(),
  })
  .strict()
  .refine((a) => a.userAgent !== undefined || (a.ranges?.length ?? 0) > 0, 'an agent needs a userAgent, ranges, or both');

const SECONDS = 1000;
const timingSchema = z
  .object({
    proxyPrefetch: durationSchema.pipe(z.number().min(0).max(3600 * SECONDS)),
    clickBeforeOpen: durationSchema.pipe(z.number().min(0).max(3600 * SECONDS)),
    burst: durationSchema.pipe(z.number().min(0).max(60 * SECONDS)),
  })
  .strict();

const fileSchema = z.object({ agents: z.array(agentSchema).max(1000).optional(), timing: timingSchema.partial().optional() }).strict();

export interface MachineAgent {
  name: string;
  kind: 'machine' | 'proxy' | 'scanner';
  userAgent: RegExp | null;
  ranges: string[];
}

export interface MachineEngagementPolicy {
  agents: MachineAgent[];
  timing: { proxyPrefetchMs: number; clickBeforeOpenMs: number; burstMs: number };
  files: string[];
}

export function loadMachineEngagement(files: LayeredFiles): MachineEngagementPolicy {
  const layers = [files.shipped, files.operator].filter((f): f is string => Boolean(f));
  const parsed = layers.map((file) => ({ file, doc: parsePolicy(file, fileSchema, readYamlFile(file)), raw: readYamlFile(file) as { timing?: Record<string, unknown> } }));
  const timing = parsePolicy(layers.join(' then '), timingSchema, Object.assign({}, ...parsed.map((p) => p.raw?.timing ?? {})));
  return {
    agents: parsed.flatMap((p) => p.doc.agents ?? []).map((a) => ({ name: a.name, kind: a.kind, userAgent: a.userAgent === undefined ? null : new RegExp(a.userAgent, 'i'), ranges: a.ranges ?? [] })),
    timing: { proxyPrefetchMs: timing.proxyPrefetch, clickBeforeOpenMs: timing.clickBeforeOpen, burstMs: timing.burst },
    files: [...layers].reverse(),
  };
}
