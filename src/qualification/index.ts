/**
 * qualification/: bounce qualification, Campaign's term for it. An SMTP reply or a bounce
 * mail → bounce category → failure type + reason + disposition, driven by
 * policy/bounce-rules.yaml and policy/bounce-categories.yaml (classify.ts, rules.ts,
 * policy.ts, normalize.ts: pure, no I/O besides reading the policy files); and the
 * qualification table of failure texts seen, which operators re-qualify (store.ts,
 * override.ts: applied after the rules).
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
export { recordFailures, listQualifications, requalify, loadOperatorQualifications, OCCURRENCES_CAP, type SeenFailure, type QualificationEntry, type QualificationFilter, type QualificationStatus, type Requalification } from './store.ts';
export { withOperatorQualification, type OperatorQualifications } from './override.ts';
