/**
 * The compliance policy file (policy/compliance.yaml): the bulk-sender threshold and the
 * spam-complaint rates of the delivery analysis's compliance gate, read from the shipped file
 * with the operator's file layered over it key by key. Validated with zod; every error names
 * the file and the key. The YAML is the only source of these values: no defaults in code.
 * Does not run the checks (analysis/compliance.ts).
 */
import { z } from 'zod';
import { durationSchema, parsePolicy, readYamlFile, type LayeredFiles } from './policy-file.ts';

const DAY = 86_400_000;

const rateSchema = z
  .object({
    warnAbove: z.number().min(0).max(1),
    errorAbove: z.number().min(0).max(1),
    window: durationSchema.pipe(z.number().min(DAY).max(365 * DAY)),
    lastDeliveries: z.number().int().min(1).max(1000),
    minDelivered: z.number().int().min(0).max(100_000_000),
  })
  .strict();

const fileSchema = z.object({ bulkRecipients: z.number().int().min(1).optional(), complaintRate: rateSchema.partial().optional() }).strict();
const completeSchema = z
  .object({ bulkRecipients: z.number().int().min(1), complaintRate: rateSchema })
  .strict()
  .refine((p) => p.complaintRate.warnAbove <= p.complaintRate.errorAbove, { message: 'complaintRate.warnAbove must not be above complaintRate.errorAbove', path: ['complaintRate', 'warnAbove'] });

export interface CompliancePolicy {
  /** A delivery to this many recipients or more is bulk: unmet requirements are errors. */
  bulkRecipients: number;
  complaintRate: { warnAbove: number; errorAbove: number; windowMs: number; lastDeliveries: number; minDelivered: number };
  /** Files the policy was built from, the operator's first. */
  files: string[];
}

export function loadCompliancePolicy(files: LayeredFiles): CompliancePolicy {
  const layers = [files.shipped, files.operator].filter((f): f is string => Boolean(f));
  const raw = layers.map((file) => {
    const doc = readYamlFile(file);
    parsePolicy(file, fileSchema, doc);
    return doc as { bulkRecipients?: number; complaintRate?: Record<string, unknown> };
  });
  const merged = {
    bulkRecipients: raw.reduce<number | undefined>((v, d) => d.bulkRecipients ?? v, undefined),
    complaintRate: Object.assign({}, ...raw.map((d) => Object.fromEntries(Object.entries(d.complaintRate ?? {}).filter(([, v]) => v !== undefined && v !== null)))),
  };
  const c = parsePolicy([...layers].reverse().join(' over '), completeSchema, merged);
  const r = c.complaintRate;
  return {
    bulkRecipients: c.bulkRecipients,
    complaintRate: { warnAbove: r.warnAbove, errorAbove: r.errorAbove, windowMs: r.window, lastDeliveries: r.lastDeliveries, minDelivered: r.minDelivered },
    files: [...layers].reverse(),
  };
}
