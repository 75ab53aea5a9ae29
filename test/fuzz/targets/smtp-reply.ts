/**
 * Fuzz target: the SMTP reply parser (src/mail/smtp-reply.ts), the classifier
 * (src/qualification/) and the failure-text normalizer. Replies are built from codes, enhanced
 * codes and wording the shipped rules look for, single- and multi-line, then broken
 * (wrong separators, stray line ends, long runs that make regexes backtrack).
 *
 * Invariants: a parsed reply has a code of 0-999, an enhanced code in RFC 3463 form
 * or null, a text without line ends; formatting and parsing again gives the same reply;
 * every qualification names a known category, type, reason and disposition; 2xx is
 * delivered; a 4xx reply is never failed nor Hard; the reply cache gives the same answer
 * as a fresh policy; a delay notice never fails a recipient.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { bounceRecipient, type BounceKind, type ParsedBounce } from '../../../src/mail/bounce-mail.ts';
import { BOUNCE_CATEGORIES, DISPOSITIONS, FAILURE_REASONS, FAILURE_TYPES, type Qualification } from '../../../src/mail/failure.ts';
import { formatSmtpReply, parseSmtpReply, replyClass } from '../../../src/mail/smtp-reply.ts';
import { classifyBounce, classifyReply, loadBouncePolicy, normalizeFailureText, type BouncePolicy } from '../../../src/qualification/index.ts';
import { longRun, mutated, nastyString } from '../arbitraries.ts';
import type { FuzzTarget } from '../harness.ts';

export const WORDING = [
  'User unknown', 'mailbox unavailable', 'No such user here', 'Recipient address rejected', 'mailbox full', 'quota exceeded',
  'over quota', 'account disabled', 'account has been disabled', 'Greylisted, please try again later', 'try again later',
  'rate limited', 'too many connections', 'temporarily deferred due to unexpected volume', '[TSS04]', 'spam', 'blocked',
  'listed at zen.spamhaus.org', 'Message rejected due to content', 'virus detected', 'DMARC policy', 'SPF fail', 'relay access denied',
  'Relaying denied', 'TLS required', 'certificate verify failed', 'message too large', 'Message size exceeds fixed limit',
  'Host not found', 'Domain not found', 'null MX', 'Connection timed out', 'connection refused', 'in reply to RCPT TO command',
  'after MAIL FROM', '>>> DATA', 'Out of office', 'challenge', 'expired', 'Service not available', '4.7.650', 'The email account that you tried to reach does not exist',
  'https://support.google.com/mail/?p=NoSuchUser', 'unrouteable address', 'retry timeout exceeded', 'Syntax error',
];

const codeArb = fc.oneof(
  fc.constantFrom('250', '251', '354', '421', '450', '451', '452', '454', '500', '501', '503', '530', '535', '550', '551', '552', '553', '554', '555'),
  fc.integer({ min: 0, max: 999 }).map((n) => String(n).padStart(3, '0')),
  fc.constantFrom('', '5', '55', '5500', '-1', 'abc', '5.5', '٥٥٠'),
);
const enhancedArb = fc.oneof(
  fc.tuple(fc.constantFrom('2', '4', '5'), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 30 })).map(([a, b, c]) => `${a}.${b}.${c}`),
  fc.constantFrom('5.1.1', '4.2.2', '5.7.1', '4.7.28', '5.0.0', '4.4.7', '5.1.10', '5.7.26', '005.001.001', '5.1234.1', '6.1.1', '5.1', '5.1.1.1', '#5.1.1', ''),
);
const sepArb = fc.constantFrom(' ', '-', '', '  ', '\t', '- ');
const wordingArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...WORDING) }, { weight: 2, arbitrary: nastyString(30) }, { weight: 1, arbitrary: fc.oneof({ weight: 9, arbitrary: nastyString(200) }, { weight: 1, arbitrary: longRun(['5.1.1 ', 'user ', 'unknown ']) }) });
const lineArb = fc.tuple(codeArb, sepArb, fc.option(enhancedArb), fc.array(wordingArb, { maxLength: 4 })).map(([code, sep, enh, words]) => `${code}${sep}${enh ? `${enh} ` : ''}${words.join(' ')}`);
const eolArb = fc.constantFrom('\r\n', '\n', '\r', '\r\r\n', '');

/** A reply as a server would send it, then possibly broken. */
export const replyTextArb: fc.Arbitrary<string> = mutated(
  fc.tuple(fc.array(lineArb, { minLength: 1, maxLength: 5 }), eolArb).map(([lines, eol]) => lines.join(eol)),
  fc.oneof(nastyString(10), fc.constantFrom('\r\n', '\n', '550-', '5.1.1', ' ')),
  2,
);

interface Input {
  raw: string;
  fallback: number;
  command: 'CONNECT' | 'HELO' | 'MAIL' | 'RCPT' | 'DATA' | undefined;
  kind: BounceKind;
  action: 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded' | null;
  status: string | null;
  feedbackType: string | null;
}

function arbitrary(): fc.Arbitrary<Input> {
  return fc.record({
    raw: fc.oneof({ weight: 9, arbitrary: replyTextArb }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) }),
    fallback: fc.constantFrom(0, 0, 421, 451, 550),
    command: fc.constantFrom(undefined, 'CONNECT', 'HELO', 'MAIL', 'RCPT', 'DATA'),
    kind: fc.constantFrom('dsn', 'arf', 'auto-reply', 'bounce', 'not-bounce', 'unparsable'),
    action: fc.constantFrom(null, 'failed', 'delayed', 'delivered', 'relayed', 'expanded'),
    status: fc.option(enhancedArb),
    feedbackType: fc.constantFrom(null, 'abuse', 'unsubscribe', 'fraud'),
  });
}

let policy: BouncePolicy | null = null;
let fresh: BouncePolicy | null = null;

export function assertQualification(q: Qualification, what: string): void {
  assert.ok((BOUNCE_CATEGORIES as readonly string[]).includes(q.category), `${what}: unknown category ${q.category}`);
  assert.ok((FAILURE_TYPES as readonly string[]).includes(q.failureType), `${what}: unknown failure type ${q.failureType}`);
  assert.ok((FAILURE_REASONS as readonly string[]).includes(q.failureReason), `${what}: unknown failure reason ${q.failureReason}`);
  assert.ok((DISPOSITIONS as readonly string[]).includes(q.disposition), `${what}: unknown disposition ${q.disposition}`);
}

function check(input: Input): void {
  policy ??= loadBouncePolicy();
  fresh ??= loadBouncePolicy();
  const reply = parseSmtpReply(input.raw, input.fallback);
  assert.ok(Number.isInteger(reply.code) && reply.code >= 0 && reply.code <= 999, `code ${reply.code}`);
  assert.ok(reply.enhanced === null || /^[245]\.\d{1,3}\.\d{1,3}$/.test(reply.enhanced), `enhanced ${reply.enhanced}`);
  assert.ok(!/[\r\n]/.test(reply.text), 'the text has no line ends');
  assert.ok(reply.text.length <= input.raw.length, 'the text is no longer than the reply');
  if (reply.code >= 100) assert.deepEqual(parseSmtpReply(formatSmtpReply(reply)), reply, 'format then parse gives the same reply');
  const cls = replyClass(reply);

  const q = classifyReply(reply, policy, { command: input.command });
  assertQualification(q, 'classifyReply');
  if (cls === 2) assert.equal(q.category, 'delivered', '2xx is delivered');
  if (cls === 4) {
    assert.ok(q.disposition !== 'fail' && q.disposition !== 'fail-quarantine', `a 4xx reply is retried, got ${q.disposition}`);
    assert.notEqual(q.failureType, 'Hard', 'a 4xx reply is never Hard');
  }
  assert.deepEqual(classifyReply(reply, policy, { command: input.command }), q, 'the cache gives the same answer');
  // One input in eight (by length, so a replay does the same): costs a second classification.
  if (input.raw.length % 8 === 0) {
    fresh.replyCache.clear();
    assert.deepEqual(classifyReply(reply, fresh, { command: input.command }), q, 'a fresh policy gives the same answer');
  }

  const parsed: ParsedBounce = {
    kind: input.kind, recipients: [], reportingMta: null, envelopeId: null, originalMessageId: null, originalHeaders: {},
    feedbackType: input.feedbackType, subject: '', from: '',
  };
  const recipient = bounceRecipient({ recipient: 'a@b.example', action: input.action, status: input.status && /^[245]\.\d{1,3}\.\d{1,3}$/.test(input.status) ? input.status : null, diagnostic: input.raw, reply, command: input.command ?? null });
  parsed.recipients.push(recipient);
  const b = classifyBounce(parsed, recipient, policy);
  assertQualification(b, 'classifyBounce');
  if (input.kind === 'arf') assert.ok(b.category === 'complaint' || b.category === 'unsubscribe', `an ARF report is a complaint, got ${b.category}`);
  if (input.kind === 'not-bounce' || input.kind === 'unparsable') assert.equal(b.disposition, 'ignore');
  if ((input.kind === 'dsn' || input.kind === 'bounce') && input.action === 'delayed') assert.equal(b.disposition, 'ignore', 'a delay notice never fails');

  const key = normalizeFailureText(input.raw);
  assert.equal(typeof key, 'string');
  assert.ok(!/\s{2}|^\s|\s$/.test(key), 'the key has single spaces');
}

export const smtpReplyTarget: FuzzTarget<Input> = {
  name: 'smtp-reply',
  description: 'SMTP reply parser, classifier and failure-text key (src/mail/smtp-reply.ts, src/qualification/)',
  arbitrary,
  async: false,
  check,
};
