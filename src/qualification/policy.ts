/**
 * Loads the bounce policy: the shipped rule and category files under policy/, with
 * operator files layered on top (operator rules first; operator category fields override
 * shipped ones). Validates everything and throws one Error naming the file, the rule and
 * what to fix.
 *
 * Reads files synchronously and once per call: reloading is calling it again, which
 * config/bounce-rules.ts does when a file changes (where the files are is said there). Does
 * not classify anything (classify.ts).
 */
import { SHIPPED_CATEGORIES_FILE, SHIPPED_RULES_FILE } from '../config/bounce-rules.ts';
import { readYamlFile } from '../config/policy-file.ts';
import {
  BOUNCE_CATEGORIES,
  isBounceCategory,
  type BounceCategory,
  type Disposition,
  type FailureReason,
  type FailureType,
  type Qualification,
} from '../mail/failure.ts';
import {
  EVIDENCE_LAYERS,
  categoriesFileSchema,
  categorySchema,
  describeIssues,
  durationMs,
  ruleSchema,
  rulesFileSchema,
  type CategoryInput,
} from './policy-schema.ts';
import { compileRule, type CompiledRule } from './rules.ts';

export interface RetryBackoff {
  initialMs: number;
  factor: number;
  maxMs: number;
}

export interface CategoryPolicy {
  type: FailureType;
  reason: FailureReason;
  disposition: Disposition;
  /** Backoff between attempts for categories whose disposition is retry, else null. */
  retry: RetryBackoff | null;
}

export interface BouncePolicy {
  readonly rules: readonly CompiledRule[];
  readonly categories: Readonly<Record<BounceCategory, CategoryPolicy>>;
  /** Files the policy was built from, operator files first. */
  readonly files: readonly string[];
  /** Qualifications of SMTP replies already seen, keyed by the exact reply. */
  readonly replyCache: Map<string, Qualification>;
}

export interface LoadBouncePolicyOptions {
  rulesFiles?: string[];
  categoriesFiles?: string[];
}

export { SHIPPED_CATEGORIES_FILE, SHIPPED_RULES_FILE };

function loadRules(file: string): CompiledRule[] {
  const doc = rulesFileSchema.safeParse(readYamlFile(file) ?? {});
  if (!doc.success) throw new Error(describeIssues(file, doc.error) + '\n(the file must have a top-level "rules:" list)');
  const seen = new Set<string>();
  const out: CompiledRule[] = [];
  doc.data.rules.forEach((raw, index) => {
    const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : null;
    const where = `${file}: rule #${index + 1}${id ? ` (id ${id})` : ''}`;
    const parsed = ruleSchema.safeParse(raw);
    if (!parsed.success) throw new Error(describeIssues(where, parsed.error));
    if (seen.has(parsed.data.id)) throw new Error(`${where}: id "${parsed.data.id}" is used twice in this file; give each rule its own id`);
    seen.add(parsed.data.id);
    if (!parsed.data.disabled && !parsed.data.source) {
      throw new Error(`${where}: source: is required; give the URL or the document that shows this wording or code (a provider's error page, an MTA's manual, an RFC)`);
    }
    const rule = compileRule(parsed.data, where, file);
    if (parsed.data.disabled) rule.matches = () => false;
    out.push(rule);
  });
  if (file === SHIPPED_RULES_FILE) checkEvidenceOrder(file, out);
  return out;
}

// The shipped rules are written in the order of evidence (docs/BOUNCES.md): a rule of an
// earlier layer never comes after one of a later layer, so the file reads as the classifier
// decides. Operator files are tried first, in their own order.
function checkEvidenceOrder(file: string, rules: CompiledRule[]): void {
  let highest = 0;
  rules.forEach((rule, index) => {
    const layer = EVIDENCE_LAYERS.indexOf(rule.evidence);
    if (layer < highest) {
      throw new Error(
        `${file}: rule #${index + 1} (id ${rule.id}): evidence ${rule.evidence} comes after a rule of layer ${EVIDENCE_LAYERS[highest]}; ` +
          `order the rules ${EVIDENCE_LAYERS.join(' < ')}, or set evidence: explicitly`,
      );
    }
    highest = Math.max(highest, layer);
  });
}

function loadCategories(file: string): Map<BounceCategory, CategoryInput> {
  const doc = categoriesFileSchema.safeParse(readYamlFile(file) ?? {});
  if (!doc.success) throw new Error(describeIssues(file, doc.error) + '\n(the file must have a top-level "categories:" map)');
  const out = new Map<BounceCategory, CategoryInput>();
  for (const [name, raw] of Object.entries(doc.data.categories)) {
    const where = `${file}: category ${name}`;
    if (!isBounceCategory(name)) throw new Error(`${where}: unknown category; must be one of: ${BOUNCE_CATEGORIES.join(', ')}`);
    const parsed = categorySchema.safeParse(raw ?? {});
    if (!parsed.success) throw new Error(describeIssues(where, parsed.error));
    out.set(name, parsed.data);
  }
  return out;
}

function finishCategory(name: BounceCategory, entry: CategoryInput, files: string[]): CategoryPolicy {
  const where = `${files.join(', ')}: category ${name}`;
  if (!entry.type || !entry.reason || !entry.disposition) {
    throw new Error(`${where}: type, reason and disposition must all be set`);
  }
  if (entry.type === 'Hard' && entry.disposition === 'retry') {
    throw new Error(`${where}: a Hard failure is never retried; use disposition fail-quarantine, or type Soft`);
  }
  let retry: RetryBackoff | null = null;
  if (entry.retry) {
    retry = { initialMs: durationMs(entry.retry.initial), factor: entry.retry.factor, maxMs: durationMs(entry.retry.max) };
    if (retry.maxMs < retry.initialMs) throw new Error(`${where}: retry.max must not be smaller than retry.initial`);
  }
  if (entry.disposition === 'retry' && !retry) {
    throw new Error(`${where}: disposition retry needs a retry backoff, e.g. retry: { initial: 15m, factor: 2, max: 4h }`);
  }
  return { type: entry.type as FailureType, reason: entry.reason as FailureReason, disposition: entry.disposition as Disposition, retry };
}

/**
 * Loads the shipped bounce policy plus operator files. Throws an Error whose message
 * names the file, the rule (index and id) or category, and what to fix.
 */
export function loadBouncePolicy(options: LoadBouncePolicyOptions = {}): BouncePolicy {
  const operatorRuleFiles = options.rulesFiles ?? [];
  const operatorCategoryFiles = options.categoriesFiles ?? [];

  // Operator files are listed most important first: an earlier file's rule wins.
  const rules: CompiledRule[] = [];
  const ids = new Set<string>();
  for (const file of [...operatorRuleFiles, SHIPPED_RULES_FILE]) {
    for (const rule of loadRules(file)) {
      if (ids.has(rule.id)) continue;
      ids.add(rule.id);
      rules.push(rule);
    }
  }

  // Category fields: shipped values, then each operator file in turn overrides.
  const merged = new Map<BounceCategory, CategoryInput>();
  const sources = new Map<BounceCategory, string[]>();
  for (const file of [SHIPPED_CATEGORIES_FILE, ...[...operatorCategoryFiles].reverse()]) {
    for (const [name, entry] of loadCategories(file)) {
      const defined = Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined));
      merged.set(name, { ...(merged.get(name) ?? {}), ...defined });
      sources.set(name, [...(sources.get(name) ?? []), file]);
    }
  }
  const categories = {} as Record<BounceCategory, CategoryPolicy>;
  for (const name of BOUNCE_CATEGORIES) {
    const entry = merged.get(name);
    if (!entry) throw new Error(`${SHIPPED_CATEGORIES_FILE}: category ${name} is missing; every category needs type, reason and disposition`);
    categories[name] = finishCategory(name, entry, sources.get(name) ?? []);
  }

  return {
    rules,
    categories,
    files: [...operatorRuleFiles, ...operatorCategoryFiles, SHIPPED_RULES_FILE, SHIPPED_CATEGORIES_FILE],
    replyCache: new Map(),
  };
}

/** Delay before attempt number `attempt` (1 = first retry) for a category, or null if it is not retried. */
export function retryDelayMs(policy: BouncePolicy, category: BounceCategory, attempt: number): number | null {
  const retry = policy.categories[category].retry;
  if (!retry) return null;
  const n = Math.max(1, Math.floor(attempt));
  return Math.min(retry.maxMs, Math.round(retry.initialMs * Math.pow(retry.factor, n - 1)));
}
