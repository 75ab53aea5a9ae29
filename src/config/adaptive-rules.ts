/**
 * Adaptive delivery rules (KumoMTA's traffic shaping automation, Momentum's adaptive
 * delivery): a reply matching a rule — code, enhanced code, text — acts on the site (or on
 * one sending IP towards it) for a set duration: suspend it, lower its rate and connections,
 * or bounce what is queued for it. A rule fires at once or after N matching replies within
 * a window. Also the circuit breaker: a site with an extreme error rate is stopped for a while.
 */
import { z } from 'zod';
import { durationSchema, parsePolicy, readYamlFile, type LayeredFiles } from './policy-file.ts';

const duration = durationSchema;

const regex = z.string().transform((v, ctx) => {
  try {
    return new RegExp(v, 'i');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
    return z.NEVER;
  }
});

const ruleSchema = z
  .object({
    name: z.string().min(1),
    match: z
      .object({
        codes: z.array(z.number().int().min(200).max(599)).optional(),
        enhanced: z.string().regex(/^[245*]\.[\d*]{1,3}\.[\d*]{1,3}$/, 'an enhanced code such as 4.7.28 or 4.7.*').optional(),
        text: regex.optional(),
      })
      .strict()
      .refine((m) => m.codes || m.enhanced || m.text, 'say what to match: codes, enhanced, text'),
    action: z.enum(['suspend', 'throttle', 'bounce']),
    scope: z.enum(['site', 'source']).default('site'),
    /** For throttle: the share of the rate and connections left, 0 < factor < 1. */
    factor: z.number().gt(0).lt(1).optional(),
    duration: duration,
    /** How long limits take to climb back once the duration ends (default: half the duration). */
    recovery: duration.optional(),
    trigger: z.union([z.literal('immediate'), z.object({ count: z.number().int().min(1), window: duration }).strict()]).default('immediate'),
  })
  .strict()
  .refine((r) => r.action !== 'throttle' || r.factor !== undefined, { message: 'a throttle rule needs a factor, e.g. 0.5', path: ['factor'] });

const breakerSchema = z
  .object({ minMessages: z.number().int().min(1), errorRate: z.number().gt(0).max(1), window: duration, duration: duration })
  .strict();

const fileSchema = z.object({ rules: z.array(ruleSchema).default([]), circuitBreaker: breakerSchema.optional() }).strict();

export type AdaptiveRule = z.output<typeof ruleSchema>;
export type CircuitBreakerPolicy = z.output<typeof breakerSchema>;

export interface AdaptiveRules {
  rules: AdaptiveRule[];
  circuitBreaker: CircuitBreakerPolicy;
  files: string[];
  match(reply: { code: number; enhanced: string | null; text: string }): AdaptiveRule | null;
}

const DEFAULT_BREAKER: CircuitBreakerPolicy = { minMessages: 300, errorRate: 0.9, window: 3_600_000, duration: 3 * 3_600_000 };

export function loadAdaptiveRules(files: LayeredFiles): AdaptiveRules {
  const layers = [files.operator, files.shipped].filter((f): f is string => Boolean(f));
  const parsed = layers.map((file) => parsePolicy(file, fileSchema, readYamlFile(file)));
  const rules = parsed.flatMap((p) => p.rules);
  const circuitBreaker = parsed.find((p) => p.circuitBreaker)?.circuitBreaker ?? DEFAULT_BREAKER;
  const enhancedMatch = (pattern: string, value: string | null) => {
    if (!value) return false;
    const a = pattern.split('.');
    const b = value.split('.');
    return a.every((part, i) => part === '*' || part === b[i]);
  };
  return {
    rules,
    circuitBreaker,
    files: layers,
    match(reply) {
      for (const r of rules) {
        const m = r.match;
        if (m.codes && !m.codes.includes(reply.code)) continue;
        if (m.enhanced && !enhancedMatch(m.enhanced, reply.enhanced)) continue;
        if (m.text && !m.text.test(reply.text)) continue;
        return r;
      }
      return null;
    },
  };
}
