/**
 * The shape of the bounce policy files (policy/bounce-rules.yaml and
 * policy/bounce-categories.yaml), as zod schemas, and turning validation issues into
 * messages an operator can act on ("file: rule #3 (id x): field: what to fix").
 *
 * Validates structure and values only; compiling rules and layering files is policy.ts.
 */
import { z } from 'zod';
import { BOUNCE_CATEGORIES, DISPOSITIONS, FAILURE_REASONS, FAILURE_TYPES } from '../mail/failure.ts';

const categoryName = z.enum(BOUNCE_CATEGORIES as unknown as [string, ...string[]], {
  error: () => `must be one of: ${BOUNCE_CATEGORIES.join(', ')}`,
});
const failureType = z.enum(FAILURE_TYPES as unknown as [string, ...string[]], {
  error: () => `must be one of: ${FAILURE_TYPES.join(', ')}`,
});
const failureReason = z.enum(FAILURE_REASONS as unknown as [string, ...string[]], {
  error: () => `must be a Campaign failure reason: ${FAILURE_REASONS.join(', ')}`,
});
const disposition = z.enum(DISPOSITIONS as unknown as [string, ...string[]], {
  error: () => `must be one of: ${DISPOSITIONS.join(', ')}`,
});

/**
 * The layers of evidence, in the order the classifier weighs them (docs/BOUNCES.md,
 * "Order of evidence"): a provider's own documented reply; a clear wording, read with the
 * enhanced status and the SMTP stage that qualify it; a precise enhanced status (subject
 * and detail) alone; the SMTP command the reply answered; and last the generic signals
 * (broad wording such as "rejected", the status subject alone, the basic reply code).
 */
export const EVIDENCE_LAYERS = ['provider', 'wording', 'status', 'command', 'generic'] as const;
export type EvidenceLayer = (typeof EVIDENCE_LAYERS)[number];

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

const codeItem = z.number().int().min(200).max(599);

export const ruleSchema = z
  .object({
    id: z.string().min(1, 'must not be empty').regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'use letters, digits, - _ . :'),
    category: categoryName,
    code: z.union([z.array(codeItem).min(1), z.string().min(1), codeItem]).optional(),
    status: oneOrMany(
      z.string().regex(/^(?:[245*xX]\.(?:\d{1,3}|\*|[xX])\.(?:\d{1,3}|\*|[xX])|none)$/i, 'must look like "5.1.1", "5.1.*" or "*.7.26", or be "none" (no enhanced status)'),
    ).optional(),
    text: oneOrMany(z.string().min(1)).optional(),
    command: oneOrMany(
      z.enum(['CONNECT', 'HELO', 'MAIL', 'RCPT', 'DATA'], { error: () => 'must be one of CONNECT, HELO, MAIL, RCPT, DATA' }),
    ).optional(),
    type: failureType.optional(),
    reason: failureReason.optional(),
    disposition: disposition.optional(),
    disabled: z.boolean().optional(),
    // Where the wording or the code is documented (a URL or a document name): a rule is
    // kept only when it is right for a reason that holds outside the texts it was tested on.
    // Required on every rule that is not disabled; checked in policy.ts.
    source: z.string().min(1, 'must not be empty').optional(),
    evidence: z
      .enum(EVIDENCE_LAYERS as unknown as [string, ...string[]], { error: () => `must be one of: ${EVIDENCE_LAYERS.join(', ')}` })
      .optional(),
    note: z.string().optional(),
  })
  .strict();

export type RuleInput = z.infer<typeof ruleSchema>;

export const rulesFileSchema = z
  .object({
    rules: z.array(z.unknown()),
  })
  .strict();

const duration = z.union([z.number().nonnegative(), z.string().regex(/^\s*\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)?\s*$/i, 'must be a duration like 90s, 15m, 2h, 1d')]);

export const retrySchema = z
  .object({
    initial: duration,
    factor: z.number().min(1, 'must be at least 1'),
    max: duration,
  })
  .strict();

export const categorySchema = z
  .object({
    type: failureType.optional(),
    reason: failureReason.optional(),
    disposition: disposition.optional(),
    retry: retrySchema.nullable().optional(),
    note: z.string().optional(),
  })
  .strict();

export type CategoryInput = z.infer<typeof categorySchema>;

export const categoriesFileSchema = z
  .object({
    categories: z.record(z.string(), z.unknown()),
  })
  .strict();

/** Duration text ("15m", "2h", "90s", "1d", "250ms") or seconds, in milliseconds. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value * 1000;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(value);
  if (!m) throw new Error(`bad duration "${value}"`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000;
  return Math.round(n * factor);
}

/** Turns zod issues into one line per problem, prefixed with where it is. */
export function describeIssues(where: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      const message =
        issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')} (check the spelling)` : issue.message;
      return `${where}: ${field}${message}`;
    })
    .join('\n');
}
