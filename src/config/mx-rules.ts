/**
 * MX rules: traffic-shaping limits matched on the MX host names of a destination (Campaign's
 * "MX management", KumoMTA's shaping): first match wins, the operator's rules before the
 * shipped ones, a generic `*` rule last. Per rule: connections per path (sending IP × MX IP),
 * messages per connection, messages per hour and per minute, timeouts, TLS policy, and
 * whether the rates are shared by all sending IPs or apply to each.
 */
import { z } from 'zod';
import { globToRegExp } from '../lib/glob.ts';
import { durationSchema, parsePolicy, readYamlFile, type LayeredFiles } from './policy-file.ts';

const duration = durationSchema;

const ruleSchema = z
  .object({
    name: z.string().min(1),
    mx: z.array(z.string().min(1)).min(1, 'list at least one MX host pattern, e.g. "*.google.com"'),
    maxConnections: z.number().int().positive().optional(),
    maxMessagesPerConnection: z.number().int().positive().optional(),
    messagesPerHour: z.number().positive().optional(),
    messagesPerMinute: z.number().positive().optional(),
    connectTimeout: duration.optional(),
    commandTimeout: duration.optional(),
    dataTimeout: duration.optional(),
    tls: z.enum(['opportunistic', 'required', 'disabled']).optional(),
    shared: z.boolean().optional(),
    /** Messages held in memory for this site at most; the rest waits in the spool. */
    maxReady: z.number().int().positive().optional(),
  })
  .strict();

const fileSchema = z.object({ rules: z.array(ruleSchema).default([]) }).strict();

export type MxRuleInput = z.output<typeof ruleSchema>;

export interface MxRule {
  name: string;
  patterns: RegExp[];
  source: string[];
  maxConnections: number;
  maxMessagesPerConnection: number;
  messagesPerHour: number | null;
  messagesPerMinute: number | null;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  dataTimeoutMs: number;
  tls: 'opportunistic' | 'required' | 'disabled';
  shared: boolean;
  maxReady: number;
}

export interface MxRules {
  rules: MxRule[];
  files: string[];
  /** The first rule matching any of the site's MX host names. */
  match(mxHosts: string[]): MxRule;
}

const DEFAULTS: { maxConnections: number; maxMessagesPerConnection: number; connectTimeoutMs: number; commandTimeoutMs: number; dataTimeoutMs: number; tls: MxRule['tls']; shared: boolean; maxReady: number } = { maxConnections: 10, maxMessagesPerConnection: 100, connectTimeoutMs: 30_000, commandTimeoutMs: 60_000, dataTimeoutMs: 120_000, tls: 'opportunistic', shared: true, maxReady: 1000 };

export function loadMxRules(files: LayeredFiles, fallback: Partial<typeof DEFAULTS> = {}): MxRules {
  const layers = [files.operator, files.shipped].filter((f): f is string => Boolean(f));
  const inputs = layers.flatMap((file) => parsePolicy(file, fileSchema, readYamlFile(file)).rules.map((r) => ({ r, file })));
  const base = { ...DEFAULTS, ...fallback };
  const rules: MxRule[] = inputs.map(({ r }) => ({
    name: r.name,
    patterns: r.mx.map(globToRegExp),
    source: r.mx,
    maxConnections: r.maxConnections ?? base.maxConnections,
    maxMessagesPerConnection: r.maxMessagesPerConnection ?? base.maxMessagesPerConnection,
    messagesPerHour: r.messagesPerHour ?? null,
    messagesPerMinute: r.messagesPerMinute ?? null,
    connectTimeoutMs: r.connectTimeout ?? base.connectTimeoutMs,
    commandTimeoutMs: r.commandTimeout ?? base.commandTimeoutMs,
    dataTimeoutMs: r.dataTimeout ?? base.dataTimeoutMs,
    tls: r.tls ?? base.tls,
    shared: r.shared ?? base.shared,
    maxReady: r.maxReady ?? base.maxReady,
  }));
  const generic = rules.find((r) => r.source.includes('*'));
  if (!generic) throw new Error(`${layers.join(', ')}: no generic rule: add a last rule with mx: ["*"]`);
  return {
    rules,
    files: layers,
    match(mxHosts) {
      for (const rule of rules) if (mxHosts.some((h) => rule.patterns.some((p) => p.test(h)))) return rule;
      return generic;
    },
  };
}
