/**
 * Qualification of SMTP replies (synchronous, during delivery) and of bounce mail
 * recipients (asynchronous, from the return path): rules give a bounce category, the
 * category table gives Campaign's failure type and reason and the disposition.
 *
 * Pure and fast: rules are compiled by loadBouncePolicy and replies are cached per policy.
 * Does not parse mail (mail/bounce-mail.ts) and does not apply dispositions (mta/, feedback/).
 */
import { CHALLENGE_PREFIX, type BounceRecipient, type ParsedBounce } from '../mail/bounce-mail.ts';
import type { BounceCategory, Qualification } from '../mail/failure.ts';
import type { SmtpStage } from '../mail/reply-text.ts';
import { replyClass, type SmtpReply } from '../mail/smtp-reply.ts';
import type { BouncePolicy } from './policy.ts';
import { firstMatch, type CompiledRule, type RuleSubject } from './rules.ts';

/** Rule ids of decisions taken by the classifier itself rather than by a rule. */
export const BUILTIN_RULES = {
  complaint: 'builtin:arf-complaint',
  unsubscribe: 'builtin:list-unsubscribe',
  autoReply: 'builtin:auto-reply',
  challenge: 'builtin:challenge-response',
  delivered: 'builtin:delivered',
} as const;

const CACHE_LIMIT = 20_000;

function qualify(policy: BouncePolicy, category: BounceCategory, ruleId: string | null, rule?: CompiledRule): Qualification {
  const c = policy.categories[category];
  let failureType = rule?.type ?? c.type;
  let disposition = rule?.disposition ?? c.disposition;
  // A rule that changes the type without saying what to do gets the usual disposition.
  if (rule?.type && !rule.disposition) {
    if (rule.type === 'Hard' && disposition === 'retry') disposition = 'fail-quarantine';
    if (rule.type !== 'Hard' && disposition === 'fail-quarantine') disposition = 'fail';
  }
  return { category, failureType, failureReason: rule?.reason ?? c.reason, disposition, ruleId };
}

function classifySubject(subject: RuleSubject, policy: BouncePolicy, cls: number): Qualification {
  const rule = firstMatch(policy.rules, subject);
  if (rule) return qualify(policy, rule.category, rule.id, rule);
  if (cls === 4) return qualify(policy, 'transient', null);
  return qualify(policy, 'undetermined', null);
}

// qmail and Cisco AsyncOS write the enhanced status inside the text, after a "#":
// "553 sorry, ... (#5.7.1)", "550 #5.1.0 Address rejected".
const HASH_STATUS = /#([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])/;

function hashStatus(text: string): string | null {
  const m = HASH_STATUS.exec(text.slice(0, MAX_TEXT));
  return m ? `${m[1]}.${Number(m[2])}.${Number(m[3])}` : null;
}

/**
 * Qualifies a reply received during an SMTP session. 2xx is delivered. A 4xx reply is
 * always retried, whatever its category says, because the server asked to try again:
 * Hard becomes Soft. Unmatched 4xx is transient; unmatched 5xx is Not defined with
 * disposition fail.
 */
export function classifyReply(reply: SmtpReply, policy: BouncePolicy, context: { command?: SmtpStage } = {}): Qualification {
  // Keyed by what the rules read (the first MAX_TEXT characters), so a long reply is not kept whole.
  const key = `${reply.code}|${reply.enhanced ?? ''}|${context.command ?? ''}|${reply.text.slice(0, MAX_TEXT)}`;
  const cached = policy.replyCache.get(key);
  if (cached) return { ...cached };

  const cls = replyClass(reply);
  let q: Qualification;
  if (cls === 2) {
    q = qualify(policy, 'delivered', BUILTIN_RULES.delivered);
  } else {
    const subject = { code: reply.code, enhanced: reply.enhanced ?? hashStatus(reply.text), text: reply.text.slice(0, MAX_TEXT), command: context.command ?? null };
    q = classifySubject(subject, policy, cls === 0 ? 4 : cls);
    if (cls === 4 && (q.disposition === 'fail' || q.disposition === 'fail-quarantine')) {
      q = { ...q, disposition: 'retry', failureType: q.failureType === 'Hard' ? 'Soft' : q.failureType };
    }
    if (cls === 0 && q.category === 'undetermined') q = qualify(policy, 'transient', null);
  }

  if (policy.replyCache.size >= CACHE_LIMIT) policy.replyCache.clear();
  policy.replyCache.set(key, q);
  return { ...q };
}

// The remote server's own status (inside the diagnostic) names the cause; the DSN Status
// is the reporting MTA's summary (often 4.4.7 "expired" or a bare 5.0.0). Prefer the
// remote one unless it says less.
// Rules read the first few kilobytes of a text: enough for any real reply, and a bound on
// the work an oversized diagnostic can cause.
const MAX_TEXT = 4_000;

function subjectOf(r: BounceRecipient): RuleSubject {
  const remote = r.reply?.enhanced ?? null;
  const enhanced = remote && !/^[245]\.0\.0$/.test(remote) ? remote : r.status ?? remote;
  return {
    code: r.reply?.code ?? 0,
    enhanced,
    text: (r.diagnostic ?? r.reply?.text ?? '').slice(0, MAX_TEXT),
    command: r.command,
  };
}

/**
 * Qualifies one recipient of a parsed bounce mail. ARF reports are complaints, auto-
 * replies are ignored, delivered/relayed DSNs are deliveries; everything else goes through
 * the same rules as SMTP replies. A delay notice never fails or quarantines: the
 * reporting MTA is still trying, so its disposition is ignore.
 */
export function classifyBounce(parsed: ParsedBounce, recipient: BounceRecipient, policy: BouncePolicy): Qualification {
  if (parsed.kind === 'arf') {
    return parsed.feedbackType === 'unsubscribe'
      ? qualify(policy, 'unsubscribe', BUILTIN_RULES.unsubscribe)
      : qualify(policy, 'complaint', BUILTIN_RULES.complaint);
  }
  if (parsed.kind === 'auto-reply') {
    return recipient.diagnostic?.startsWith(CHALLENGE_PREFIX)
      ? qualify(policy, 'challenge-response', BUILTIN_RULES.challenge)
      : qualify(policy, 'auto-reply', BUILTIN_RULES.autoReply);
  }
  if (parsed.kind === 'not-bounce' || parsed.kind === 'unparsable') {
    return { ...qualify(policy, 'undetermined', null), disposition: 'ignore' };
  }
  if (recipient.action === 'delivered' || recipient.action === 'relayed' || recipient.action === 'expanded') {
    return qualify(policy, 'delivered', BUILTIN_RULES.delivered);
  }

  const subject = subjectOf(recipient);
  const statusClass = subject.enhanced ? Number(subject.enhanced[0]) : 0;
  const codeClass = subject.code > 0 ? Math.floor(subject.code / 100) : 0;
  const cls = statusClass || codeClass;
  if (cls === 2 && recipient.action === null) return qualify(policy, 'delivered', BUILTIN_RULES.delivered);

  const q = classifySubject(subject, policy, cls);
  return recipient.action === 'delayed' ? { ...q, disposition: 'ignore' } : q;
}
