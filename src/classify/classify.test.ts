import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bounceRecipient, parseBounceMail, type BounceRecipient } from '../mail/bounce-mail.ts';
import { parseSmtpReply } from '../mail/smtp-reply.ts';
import { classifyBounce, classifyReply, loadBouncePolicy } from './index.ts';

const policy = loadBouncePolicy();
const reply = (text: string) => classifyReply(parseSmtpReply(text), policy);

// Real-world wording of the large providers, as they answer during the SMTP session.
const CASES: Array<[string, string, string, string, string]> = [
  // [reply, category, failure type, failure reason, disposition]
  [
    '421-4.7.28 [203.0.113.5] Our system has detected an unusual rate of\r\n421-4.7.28 unsolicited mail originating from your IP address. To protect our\r\n421 4.7.28 users from spam, mail sent from your IP address has been temporarily rate limited.',
    'rate-limited', 'Soft', 'Unreachable', 'retry',
  ],
  [
    '421 4.7.0 [TSS04] Messages from 203.0.113.5 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1',
    'rate-limited', 'Soft', 'Unreachable', 'retry',
  ],
  [
    '550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n550 5.1.1 double-checking the recipient\'s email address for typos.',
    'user-unknown', 'Hard', 'User unknown', 'fail-quarantine',
  ],
  ['552 5.2.2 <bob@example.com>: mailbox full', 'mailbox-full', 'Soft', 'Mailbox full', 'retry'],
  ['554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org', 'spam-block', 'Soft', 'Refused', 'retry'],
  [
    '550 5.7.1 Service unavailable, Client host [203.0.113.5] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/ (AS3130)',
    'spam-block', 'Soft', 'Refused', 'retry',
  ],
  [
    '550 5.7.1 Unfortunately, messages from [203.0.113.5] weren\'t sent. Please contact your Internet service provider since part of their network is on our block list (S3150).',
    'spam-block', 'Soft', 'Refused', 'retry',
  ],
  ['451 4.7.1 <bob@example.com>: Recipient address rejected: Greylisted for 300 seconds', 'greylisted', 'Soft', 'Unreachable', 'retry'],
  ['451 4.7.1 Please try again later', 'greylisted', 'Soft', 'Unreachable', 'retry'],
  ['550 5.7.26 Unauthenticated email from example.com is not accepted due to domain\'s DMARC policy', 'policy', 'Soft', 'Refused', 'retry'],
  ['550 5.4.1 Recipient address rejected: Access denied. AS(201806281)', 'user-unknown', 'Hard', 'User unknown', 'fail-quarantine'],
  ['552 5.3.4 Message size exceeds fixed maximum message size', 'message-too-large', 'Ignored', 'Refused', 'fail'],
  ['550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup', 'user-unknown', 'Hard', 'User unknown', 'fail-quarantine'],
  ['554 5.7.1 <bob@example.com>: Relay access denied', 'relay-denied', 'Soft', 'Unreachable', 'retry'],
];

for (const [text, category, type, reason, disposition] of CASES) {
  test(`reply "${text.slice(0, 60)}..." is ${category}`, () => {
    const q = reply(text);
    assert.deepEqual([q.category, q.failureType, q.failureReason, q.disposition], [category, type, reason, disposition]);
    assert.ok(q.ruleId, 'a rule matched');
  });
}

test('unmatched replies: 4xx retry as transient, 5xx Not defined and fail, 2xx delivered', () => {
  const soft = reply('452 something odd happened');
  assert.deepEqual([soft.category, soft.failureType, soft.disposition, soft.ruleId], ['transient', 'Soft', 'retry', null]);
  const hard = reply('550 something odd happened');
  assert.deepEqual([hard.category, hard.failureType, hard.failureReason, hard.disposition, hard.ruleId], ['undetermined', 'Not defined', 'Not defined', 'fail', null]);
  assert.equal(reply('250 2.0.0 OK queued').category, 'delivered');
  assert.equal(reply('250 2.0.0 OK queued').disposition, 'deliver');
});

test('a 4xx reply is never Hard: the server asked to try again', () => {
  const q = reply('450 4.1.1 <bob@example.com>: Recipient address rejected: User unknown in local recipient table');
  assert.equal(q.category, 'user-unknown');
  assert.equal(q.failureType, 'Soft');
  assert.equal(q.disposition, 'retry');
});

test('no reply at all (connection failures) is retried', () => {
  const q = classifyReply({ code: 0, enhanced: null, text: 'connect ECONNREFUSED 198.51.100.1:25' }, policy);
  assert.equal(q.category, 'connection');
  assert.equal(q.disposition, 'retry');
});

test('the SMTP command refines the answer: "user unknown" to DATA is a refusal, not a dead address', () => {
  const atData = classifyReply(parseSmtpReply('550 User unknown'), policy, { command: 'DATA' });
  assert.equal(atData.failureReason, 'Refused');
  const atRcpt = classifyReply(parseSmtpReply('550 User unknown'), policy, { command: 'RCPT' });
  assert.equal(atRcpt.failureReason, 'User unknown');
});

test('the same reply twice gives the same answer (cache) and callers cannot corrupt it', () => {
  const a = reply('552 5.2.2 mailbox full');
  a.category = 'complaint';
  const b = reply('552 5.2.2 mailbox full');
  assert.equal(b.category, 'mailbox-full');
});

const mail = (name: string) => parseBounceMail(readFileSync(new URL(`../mail/testdata/${name}`, import.meta.url)));

test('bounce mails: ARF complaint, auto-reply, DSN recipients', async () => {
  const arf = await mail('arf-abuse.eml');
  const c = classifyBounce(arf, arf.recipients[0], policy);
  assert.deepEqual([c.category, c.failureType, c.failureReason, c.disposition], ['complaint', 'Hard', 'Denylisted address', 'complaint']);

  const auto = await mail('auto-reply.eml');
  const a = classifyBounce(auto, auto.recipients[0], policy);
  assert.deepEqual([a.category, a.failureType, a.failureReason, a.disposition], ['auto-reply', 'Ignored', 'Unreachable', 'ignore']);

  const dsn = await mail('postfix-dsn.eml');
  const [ana, pedro] = dsn.recipients.map((r) => classifyBounce(dsn, r, policy));
  assert.deepEqual([ana.category, ana.failureType, ana.failureReason], ['user-unknown', 'Hard', 'User unknown']);
  assert.deepEqual([pedro.category, pedro.failureType, pedro.failureReason], ['mailbox-full', 'Soft', 'Mailbox full']);
});

test('bounce mails: text bounces go through the same rules', async () => {
  const exim = await mail('exim-failed.eml');
  const [carla, dmitri] = exim.recipients.map((r) => classifyBounce(exim, r, policy));
  assert.equal(carla.category, 'spam-block');
  assert.equal(dmitri.category, 'bad-domain');
  assert.equal(dmitri.failureReason, 'Invalid domain');

  const gmail = await mail('gmail-text.eml');
  assert.equal(classifyBounce(gmail, gmail.recipients[0], policy).failureReason, 'Account disabled');

  const atData = await mail('postfix-data.eml');
  assert.equal(classifyBounce(atData, atData.recipients[0], policy).failureReason, 'Refused');
  const pipelined = await mail('sendmail-pipelined.eml');
  assert.equal(classifyBounce(pipelined, pipelined.recipients[0], policy).failureReason, 'User unknown');
});

const recipient = (fields: Partial<BounceRecipient>): BounceRecipient =>
  bounceRecipient({ recipient: 'x@example.com', action: 'failed', ...fields });

test('DSN delivered/relayed is a delivery, a delay notice never fails the message', async () => {
  const dsn = await mail('postfix-dsn.eml');
  assert.equal(classifyBounce(dsn, recipient({ action: 'delivered', status: '2.0.0' }), policy).category, 'delivered');
  assert.equal(classifyBounce(dsn, recipient({ action: 'relayed', status: '2.0.0' }), policy).disposition, 'deliver');
  const delayed = classifyBounce(dsn, recipient({ action: 'delayed', status: '4.4.1', diagnostic: 'connection timed out' }), policy);
  assert.equal(delayed.category, 'connection');
  assert.equal(delayed.disposition, 'ignore');
});

test('a DSN status alone is enough; an unknown 5.x.x is Not defined', async () => {
  const dsn = await mail('postfix-dsn.eml');
  assert.equal(classifyBounce(dsn, recipient({ status: '5.2.2' }), policy).category, 'mailbox-full');
  const unknown = classifyBounce(dsn, recipient({ status: '5.9.9', diagnostic: 'gibberish' }), policy);
  assert.deepEqual([unknown.category, unknown.failureType, unknown.ruleId], ['undetermined', 'Not defined', null]);
});
