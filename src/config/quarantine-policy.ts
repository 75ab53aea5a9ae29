/**
 * The quarantine policy file (policy/quarantine.yaml): Campaign's quarantine thresholds and
 * the outage guard's, read from the shipped file with the operator's file layered over it
 * key by key. Validated with zod; every error names the file and the key.
 *
 * The YAML is the only source of these values: there are no defaults in code. Does not
 * apply the rules (quarantine/rules.ts, quarantine/outage-guard.ts).
 */
import { z } from 'zod';
import { durationSchema, parsePolicy, readYamlFile, type LayeredFiles } from './policy-file.ts';

const DAY = 86_400_000;

const quarantineSchema = z
  .object({
    maxErrors: z.number().int().min(1).max(100),
    significantErrorDelay: durationSchema.pipe(z.number().min(0).max(30 * DAY)),
    resetAfter: durationSchema.pipe(z.number().min(60_000).max(365 * DAY)),
    mailboxFullRelease: durationSchema.pipe(z.number().min(60_000).max(365 * DAY)),
  })
  .strict();

const guardSchema = z
  .object({
    window: durationSchema.pipe(z.number().min(1000).max(DAY)),
    minVolume: z.number().int().min(1).max(1_000_000),
    minRate: z.number().gt(0).max(1),
    factor: z.number().min(1).max(1000),
    hold: durationSchema.pipe(z.number().min(60_000).max(30 * DAY)),
  })
  .strict();

const fileSchema = z.object({ quarantine: quarantineSchema.partial().optional(), outageGuard: guardSchema.partial().optional() }).strict();
const completeSchema = z.object({ quarantine: quarantineSchema, outageGuard: guardSchema }).strict();

/** The shape quarantine/rules.ts's QuarantinePolicy expects. */
export interface QuarantineThresholds {
  maxErrors: number;
  significantErrorDelayMs: number;
  resetAfterMs: number;
  mailboxFullReleaseMs: number;
}

/** The shape quarantine/outage-guard.ts's OutageGuardPolicy expects. */
export interface OutageGuardThresholds {
  windowMs: number;
  minVolume: number;
  minRate: number;
  factor: number;
  holdMs: number;
}

export interface QuarantinePolicyFile {
  quarantine: QuarantineThresholds;
  outageGuard: OutageGuardThresholds;
  /** Files the policy was built from, the operator's first. */
  files: string[];
}

export function loadQuarantinePolicy(files: LayeredFiles): QuarantinePolicyFile {
  const layers = [files.shipped, files.operator].filter((f): f is string => Boolean(f));
  // Each file is checked on its own first, so an error names the file that has it; the raw
  // values (durations still as written) are then layered and read once.
  const raw = layers.map((file) => {
    const doc = readYamlFile(file);
    parsePolicy(file, fileSchema, doc);
    return doc as { quarantine?: Record<string, unknown>; outageGuard?: Record<string, unknown> };
  });
  const merged = {
    quarantine: Object.assign({}, ...raw.map((d) => defined(d.quarantine))),
    outageGuard: Object.assign({}, ...raw.map((d) => defined(d.outageGuard))),
  };
  // Every key must be set somewhere: the shipped file carries them all unless it was edited.
  const c = parsePolicy([...layers].reverse().join(' over '), completeSchema, merged);
  return {
    quarantine: {
      maxErrors: c.quarantine.maxErrors,
      significantErrorDelayMs: c.quarantine.significantErrorDelay,
      resetAfterMs: c.quarantine.resetAfter,
      mailboxFullReleaseMs: c.quarantine.mailboxFullRelease,
    },
    outageGuard: { windowMs: c.outageGuard.window, minVolume: c.outageGuard.minVolume, minRate: c.outageGuard.minRate, factor: c.outageGuard.factor, holdMs: c.outageGuard.hold },
    files: [...layers].reverse(),
  };
}

function defined(o: Record<string, unknown> | undefined | null): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined && v !== null));
}
