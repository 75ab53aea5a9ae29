/**
 * decideOutcome and the other outcome builders, on their own: a reply (and what the
 * MTA knows of the attempt) in, an Outcome out. The policy here is a small fake that
 * records what it was asked, so the tests see the command the MTA passed to qualify.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Qualification } from '../mail/failure.ts';
import type { SmtpReply } from '../mail/smtp-reply.ts';
import { cancelOutcome, decideOutcome, expireOutcome, type OutcomePolicy } from './outcome.ts';
import type { SpoolMessage } from './spool.ts';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;

const soft: Qualification = { category: 'transient', failureType: 'Soft', failureReason: 'Unreachable', disposition: 'retry', ruleId: 'soft' };
const hard: Qualification = { category: 'user-unknown', failureType: 'Hard', failureReason: 'User unknown', disposition: 'fail', ruleId: 'hard' };

function policy(retryMs = HOUR): OutcomePolicy & { asked: { reply: SmtpReply; command?: string }[]; attempts: number[] } {
  const asked: { reply: SmtpReply; command?: string }[] = [];
  const attempts: number[] = [];
  return {
    asked,
    attempts,
    qualify(reply, command) {
      asked.push({ reply, command });
      return reply.code >= 500 ? hard : soft;
    },
    retryDelayMs(_q, attempt) {
      attempts.push(attempt);
      return retryMs;
    },
  };
}

function message(over: Partial<SpoolMessage> = {}): SpoolMessage {
  return { id: 7, logId: 70, deliveryId: 3, queue: '3@example.test', domain: 'example.test', mailFrom: 'from@sender.test', rcptTo: 'to@example.test', messageId: null, body: Buffer.from('x'), size: 1, attempts: 0, expiresAt: NOW + 24 * HOUR, createdAt: NOW - 1000, pool: null, lastReply: null, ...over };
}

test('a 2xx is delivered, with no qualification and no retry; policy is not asked', () => {
  const p = policy();
  const o = decideOutcome(p, message(), { code: 250, enhanced: '2.0.0', text: 'ok' }, NOW, { mx: 'mx.example.test', mxIp: '192.0.2.1', sourceIp: '198.51.100.1', command: 'DATA' });
  assert.equal(o.kind, 'delivered');
  assert.equal(o.qualification, null);
  assert.equal(o.nextAttemptAt, null);
  assert.equal(o.countsAsAttempt, true);
  assert.deepEqual([o.mx, o.mxIp, o.sourceIp, o.at], ['mx.example.test', '192.0.2.1', '198.51.100.1', NOW]);
  assert.equal(p.asked.length, 0);
});

test('a temporary failure is deferred to now plus the retry delay for the next attempt', () => {
  const p = policy(HOUR);
  const o = decideOutcome(p, message({ attempts: 2 }), { code: 451, enhanced: '4.7.1', text: 'try later' }, NOW, { command: 'RCPT' });
  assert.equal(o.kind, 'deferred');
  assert.equal(o.nextAttemptAt, NOW + HOUR);
  assert.deepEqual(o.qualification, soft);
  assert.deepEqual(p.attempts, [3], 'the delay is asked for the attempt that comes next');
});

test('a permanent failure bounces with its qualification', () => {
  const o = decideOutcome(policy(), message(), { code: 550, enhanced: '5.1.1', text: 'user unknown' }, NOW, { command: 'RCPT' });
  assert.equal(o.kind, 'bounced');
  assert.deepEqual(o.qualification, hard);
  assert.equal(o.nextAttemptAt, null);
});

test('a retryable failure the MTA knows is permanent (no such domain) bounces, its disposition made fail', () => {
  const o = decideOutcome(policy(), message(), { code: 0, enhanced: '4.4.4', text: 'dns timeout' }, NOW, { permanent: true });
  assert.equal(o.kind, 'bounced');
  assert.equal(o.qualification?.disposition, 'fail');
  assert.equal(o.qualification?.category, soft.category);
});

test('a retry that would land at or after the validity end expires the message instead', () => {
  const reply = { code: 421, enhanced: null, text: 'busy' };
  const atEnd = decideOutcome(policy(HOUR), message({ expiresAt: NOW + HOUR }), reply, NOW);
  assert.equal(atEnd.kind, 'expired');
  assert.equal(atEnd.nextAttemptAt, null);
  assert.deepEqual(atEnd.qualification, soft);
  const justBefore = decideOutcome(policy(HOUR), message({ expiresAt: NOW + HOUR + 1 }), reply, NOW);
  assert.equal(justBefore.kind, 'deferred');
  assert.equal(justBefore.nextAttemptAt, NOW + HOUR);
});

test('the SMTP command the reply answered is passed to qualify', () => {
  const p = policy();
  for (const command of ['CONNECT', 'HELO', 'MAIL', 'RCPT', 'DATA'] as const) decideOutcome(p, message(), { code: 554, enhanced: null, text: 'no' }, NOW, { command });
  decideOutcome(p, message(), { code: 554, enhanced: null, text: 'no' }, NOW);
  assert.deepEqual(p.asked.map((a) => a.command), ['CONNECT', 'HELO', 'MAIL', 'RCPT', 'DATA', undefined]);
  assert.equal(p.asked[0].reply.code, 554);
});

test('an expired message keeps its last answer, or gets a 4.4.7 when it was never tried', () => {
  const p = policy();
  const tried = expireOutcome(p, message({ lastReply: '452 4.2.2 mailbox full' }), NOW);
  assert.equal(tried.kind, 'expired');
  assert.deepEqual(tried.reply, { code: 452, enhanced: '4.2.2', text: 'mailbox full' });
  const never = expireOutcome(p, message(), NOW);
  assert.equal(never.reply.enhanced, '4.4.7');
  assert.equal(never.nextAttemptAt, null);
});

test('a cancelled message says the operator stopped it and counts as its attempt', () => {
  const o = cancelOutcome(message({ attempts: 1 }), NOW);
  assert.equal(o.kind, 'cancelled');
  assert.equal(o.reply.text, 'delivery stopped by an operator');
  assert.equal(o.countsAsAttempt, true);
  assert.equal(o.qualification, null);
});
