/**
 * Compiled bounce rules and matching: turns a validated rule (code list or pattern,
 * enhanced status patterns, text regex) into predicates built once, and finds the first
 * rule that matches a reply.
 *
 * No file reading and no category semantics: see policy.ts and classify.ts.
 */
import type { BounceCategory, Disposition, FailureReason, FailureType } from '../mail/failure.ts';
import type { SmtpStage } from '../mail/reply-text.ts';
import type { EvidenceLayer, RuleInput } from './policy-schema.ts';

/** What rules look at: a reply code (0 when none), an enhanced status and a text. */
export interface RuleSubject {
  code: number;
  enhanced: string | null;
  text: string;
  /** The SMTP command the reply answered, when known. */
  command?: SmtpStage | null;
}

export interface CompiledRule {
  id: string;
  category: BounceCategory;
  type?: FailureType;
  reason?: FailureReason;
  disposition?: Disposition;
  /** Where the rule was defined, for error messages and the operator guide. */
  source: string;
  /** The documentation the rule was written from (its `source` field), null for a disabled rule. */
  reference: string | null;
  /** The layer of evidence the rule belongs to (docs/BOUNCES.md, "Order of evidence"). */
  evidence: EvidenceLayer;
  /** What the rule looks at, in words: "wording", "status 5.1.*", "command RCPT", "code 550". */
  uses: string[];
  matches(subject: RuleSubject): boolean;
}

function statusPattern(pattern: string): string {
  const [cls, subject, detail] = pattern.split('.');
  const part = (p: string, any: string) => (p === '*' || p.toLowerCase() === 'x' ? any : String(Number(p)));
  return `${part(cls, '[245]')}\\.${part(subject, '\\d{1,3}')}\\.${part(detail, '\\d{1,3}')}`;
}

/** Builds the matcher of one validated rule. Throws with `where` in the message on a bad regex. */
export function compileRule(input: RuleInput, where: string, source: string): CompiledRule {
  const checks: Array<(s: RuleSubject) => boolean> = [];

  if (input.code !== undefined) {
    if (typeof input.code === 'string') {
      let re: RegExp;
      try {
        re = new RegExp(input.code);
      } catch (err) {
        throw new Error(`${where}: code: invalid regular expression ${JSON.stringify(input.code)} (${(err as Error).message}); write a list of codes or a valid pattern such as "^4"`);
      }
      checks.push((s) => s.code > 0 && re.test(String(s.code)));
    } else {
      const codes = new Set(Array.isArray(input.code) ? input.code : [input.code]);
      checks.push((s) => codes.has(s.code));
    }
  }

  if (input.command !== undefined) {
    const commands = new Set((Array.isArray(input.command) ? input.command : [input.command]).map((c) => c.toUpperCase()));
    checks.push((s) => !!s.command && commands.has(s.command));
  }

  if (input.status !== undefined) {
    const all = Array.isArray(input.status) ? input.status : [input.status];
    // "none" matches a reply that carries no enhanced status at all.
    const none = all.some((p) => p.toLowerCase() === 'none');
    const list = all.filter((p) => p.toLowerCase() !== 'none');
    const re = list.length > 0 ? new RegExp(`^(?:${list.map(statusPattern).join('|')})$`) : null;
    checks.push((s) => (s.enhanced === null ? none : re !== null && re.test(s.enhanced)));
  }

  if (input.text !== undefined) {
    const list = Array.isArray(input.text) ? input.text : [input.text];
    let re: RegExp;
    try {
      re = new RegExp(list.map((t) => `(?:${t})`).join('|'), 'i');
    } catch (err) {
      throw new Error(`${where}: text: invalid regular expression (${(err as Error).message}); fix the pattern, and quote it with single quotes in YAML so backslashes stay as written`);
    }
    // V8 compiles a regular expression to machine code on its second use; doing that here,
    // while the policy loads, keeps the cost of a large pattern off the first real reply.
    re.test('warm up');
    re.test('warm up');
    checks.push((s) => s.text !== '' && re.test(s.text));
  }

  if (checks.length === 0) {
    throw new Error(`${where}: the rule has no condition; give it at least one of code, status, text, command`);
  }

  const uses: string[] = [];
  if (input.text !== undefined) uses.push('wording');
  if (input.status !== undefined) uses.push(`status ${[input.status].flat().join('|')}`);
  if (input.command !== undefined) uses.push(`command ${[input.command].flat().join('|')}`);
  if (input.code !== undefined) uses.push(`code ${[input.code].flat().join('|')}`);

  return {
    id: input.id,
    category: input.category as BounceCategory,
    type: input.type as FailureType | undefined,
    reason: input.reason as FailureReason | undefined,
    disposition: input.disposition as Disposition | undefined,
    source,
    reference: input.source ?? null,
    evidence: (input.evidence as EvidenceLayer | undefined) ?? defaultEvidence(input),
    uses,
    matches: (subject) => checks.every((check) => check(subject)),
  };
}

// A rule that does not say its layer gets the one its conditions imply: any wording makes it
// a wording rule, else a status, else a command, else only a code (generic).
function defaultEvidence(input: RuleInput): EvidenceLayer {
  if (input.text !== undefined) return 'wording';
  if (input.status !== undefined) return 'status';
  if (input.command !== undefined) return 'command';
  return 'generic';
}

/** The first rule that matches, or null. */
export function firstMatch(rules: readonly CompiledRule[], subject: RuleSubject): CompiledRule | null {
  for (const rule of rules) {
    if (rule.matches(subject)) return rule;
  }
  return null;
}
