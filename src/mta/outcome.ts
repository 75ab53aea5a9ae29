/**
 * What happened to one delivery attempt, as a value, and the policy that turns an SMTP
 * reply into one: a 2xx is delivered; otherwise the bounce qualification decides between
 * retrying (deferred) and failing (bounced); a retry that would land after the message's
 * validity end makes it expired instead; an operator's stop makes it cancelled.
 */
import type { Qualification } from '../mail/failure.ts';
import { formatSmtpReply, parseSmtpReply, replyClass, type SmtpReply } from '../mail/smtp-reply.ts';
import type { SpoolMessage } from './spool.ts';

export type OutcomeKind = 'delivered' | 'deferred' | 'bounced' | 'expired' | 'cancelled';

export interface Outcome {
  message: SpoolMessage;
  kind: OutcomeKind;
  reply: SmtpReply;
  qualification: Qualification | null;
  at: number;
  /** For deferred: when to try again. */
  nextAttemptAt: number | null;
  /** False when the attempt never reached a server answer about this message (e.g. site saturated). */
  countsAsAttempt: boolean;
  mx: string | null;
  mxIp: string | null;
  sourceIp: string | null;
}

export interface OutcomePolicy {
  /** `command`: which SMTP command the reply answered, when known (RCPT, DATA...). */
  qualify(reply: SmtpReply, command?: 'CONNECT' | 'HELO' | 'MAIL' | 'RCPT' | 'DATA'): Qualification;
  retryDelayMs(qualification: Qualification, attempt: number): number;
}

export interface AttemptContext {
  /** The MTA knows a retry cannot help (e.g. DNS says the domain does not exist). */
  permanent?: boolean;
  command?: 'CONNECT' | 'HELO' | 'MAIL' | 'RCPT' | 'DATA';
  mx?: string | null;
  mxIp?: string | null;
  sourceIp?: string | null;
}

/** Decides the outcome of one reply for one message. */
export function decideOutcome(policy: OutcomePolicy, message: SpoolMessage, reply: SmtpReply, now: number, ctx: AttemptContext = {}): Outcome {
  const base = { message, reply, at: now, countsAsAttempt: true, mx: ctx.mx ?? null, mxIp: ctx.mxIp ?? null, sourceIp: ctx.sourceIp ?? null };
  if (replyClass(reply) === 2) return { ...base, kind: 'delivered', qualification: null, nextAttemptAt: null };
  const qualification = policy.qualify(reply, ctx.command);
  const retry = !ctx.permanent && (qualification.disposition === 'retry' || (qualification.disposition === 'ignore' && replyClass(reply) !== 5));
  if (!retry) {
    const final = ctx.permanent && qualification.disposition === 'retry' ? { ...qualification, disposition: 'fail' as const } : qualification;
    return { ...base, kind: 'bounced', qualification: final, nextAttemptAt: null };
  }
  const next = now + policy.retryDelayMs(qualification, message.attempts + 1);
  if (next >= message.expiresAt) return { ...base, kind: 'expired', qualification, nextAttemptAt: null };
  return { ...base, kind: 'deferred', qualification, nextAttemptAt: next };
}

/**
 * A message whose validity period ended while it waited: it fails with the last answer it
 * got (a greylisting or a full mailbox says more than "expired"), or a 4.4.7 when it was
 * never tried.
 */
export function expireOutcome(policy: OutcomePolicy, message: SpoolMessage, now: number): Outcome {
  const reply: SmtpReply = message.lastReply ? parseSmtpReply(message.lastReply) : { code: 0, enhanced: '4.4.7', text: 'validity period ended before delivery' };
  const qualification = policy.qualify(reply);
  return { message, kind: 'expired', reply, qualification, at: now, nextAttemptAt: null, countsAsAttempt: true, mx: null, mxIp: null, sourceIp: null };
}

/** What a cancelled message's event says: the operator's stop, not a server's answer. */
export const CANCELLED_REPLY: SmtpReply = { code: 0, enhanced: null, text: 'delivery stopped by an operator' };

/**
 * A message dropped because an operator stopped its delivery, whether it was in this
 * process's hands or still waiting in the spool. It counts as the attempt it would have
 * been, so its event is keyed like the others and written once.
 */
export function cancelOutcome(message: SpoolMessage, now: number): Outcome {
  return { message, kind: 'cancelled', reply: CANCELLED_REPLY, qualification: null, at: now, nextAttemptAt: null, countsAsAttempt: true, mx: null, mxIp: null, sourceIp: null };
}

/** The reply text stored with the message and shown in logs. */
export function replyText(reply: SmtpReply): string {
  return formatSmtpReply(reply);
}
