/**
 * classify/: SMTP reply or bounce mail → bounce category → failure type + reason +
 * disposition, driven by policy/bounce-rules.yaml and policy/bounce-categories.yaml.
 * Pure: no I/O besides reading the policy files in loadBouncePolicy.
 */
export { classifyBounce, classifyReply, BUILTIN_RULES } from './classify.ts';
export { normalizeFailureText } from './normalize.ts';
export {
  loadBouncePolicy,
  retryDelayMs,
  SHIPPED_CATEGORIES_FILE,
  SHIPPED_RULES_FILE,
  type BouncePolicy,
  type CategoryPolicy,
  type LoadBouncePolicyOptions,
  type RetryBackoff,
} from './policy.ts';
export type { CompiledRule, RuleSubject } from './rules.ts';
