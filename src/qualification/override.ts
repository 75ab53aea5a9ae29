/**
 * Applies an operator's qualification of a failure text (from the qualification table) on
 * top of what the rules decided. The rules stay the first word; an operator's "keep" with a
 * type and reason, or "ignore", is the last. A 4xx reply is still retried whatever the type,
 * because the server asked to try again.
 */
import { normalizeFailureText } from './normalize.ts';
import type { FailureReason, FailureType, Qualification } from '../mail/failure.ts';
import type { QualificationStatus } from './store.ts';

export type OperatorQualifications = Map<string, { failureType: FailureType; failureReason: FailureReason; status: QualificationStatus }>;

export function withOperatorQualification(q: Qualification, text: string, operator: OperatorQualifications): Qualification {
  if (operator.size === 0 || !text) return q;
  const key = normalizeFailureText(text).slice(0, 500);
  const o = operator.get(key);
  if (!o) return q;
  const ruleId = `operator:${key.slice(0, 80)}`;
  if (o.status === 'ignore') {
    // "Ignore": the failure never quarantines the address.
    return { ...q, failureType: 'Ignored', disposition: q.disposition === 'fail-quarantine' ? 'fail' : q.disposition, ruleId };
  }
  let disposition = q.disposition;
  if (o.failureType === 'Hard' && disposition === 'fail') disposition = 'fail-quarantine';
  if (o.failureType !== 'Hard' && disposition === 'fail-quarantine') disposition = 'fail';
  return { ...q, failureType: o.failureType, failureReason: o.failureReason, disposition, ruleId };
}
