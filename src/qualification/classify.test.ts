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

test('unmatched replies: 4xx retry as transient, 5xx a soft error in qualification that fails, 2xx delivered', () => {
  const soft = reply('452 something odd happened');
  assert.deepEqual([soft.category, soft.failureType, soft.disposition, soft.ruleId], ['transient', 'Soft', 'retry', null]);
  // Campaign: an unmatched error is "by default interpreted as an unreachable soft error";
  // its reason stays Not defined until an operator qualifies it.
  const hard = reply('550 something odd happened');
  assert.deepEqual([hard.category, hard.failureType, hard.failureReason, hard.disposition, hard.ruleId], ['undetermined', 'Soft', 'Not defined', 'fail', null]);
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
  // Sendmail cannot tell RCPT from DATA here, and "550 User unknown" carries no enhanced
  // status: nothing confirms the wording, so the message fails and the address gets a soft
  // error instead of an immediate quarantine.
  const pipelined = await mail('sendmail-pipelined.eml');
  const p = classifyBounce(pipelined, pipelined.recipients[0], policy);
  assert.deepEqual([p.failureType, p.failureReason, p.disposition, p.ruleId], ['Soft', 'Refused', 'fail', 'user-unknown-unconfirmed']);
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

test('a DSN status alone is enough; an unknown 5.x.x is Not defined (in qualification), Soft', async () => {
  const dsn = await mail('postfix-dsn.eml');
  assert.equal(classifyBounce(dsn, recipient({ status: '5.2.2' }), policy).category, 'mailbox-full');
  const unknown = classifyBounce(dsn, recipient({ status: '5.9.9', diagnostic: 'gibberish' }), policy);
  assert.deepEqual([unknown.category, unknown.failureType, unknown.failureReason, unknown.ruleId], ['undetermined', 'Soft', 'Not defined', null]);
});

// "User unknown" quarantines at once only when the bounce confirms it: an addressing status
// (x.1.x), the RCPT TO stage, or the recipient's own system saying so without relaying a
// reply. Filters and mobile carriers refuse whole messages with the same words.
const QUALIFY = (text: string, command?: 'RCPT' | 'DATA') => {
  const q = classifyReply(parseSmtpReply(text), policy, command ? { command } : {});
  return [q.category, q.failureType, q.failureReason, q.disposition, q.ruleId];
};

test('user unknown confirmed by the status or the stage is Hard', () => {
  assert.deepEqual(QUALIFY('550 5.1.1 <a@example.com>: User unknown'), ['user-unknown', 'Hard', 'User unknown', 'fail-quarantine', 'user-unknown']);
  assert.deepEqual(QUALIFY('550 Unknown user a@example.com', 'RCPT'), ['user-unknown', 'Hard', 'User unknown', 'fail-quarantine', 'user-unknown-at-rcpt']);
  assert.deepEqual(QUALIFY('550 5.2.1 <a@example.com>... User Unknown', 'RCPT').slice(0, 3), ['user-unknown', 'Hard', 'User unknown']);
  // Postfix's recipient tables are only consulted at RCPT TO, whatever a transcript shows.
  assert.deepEqual(
    QUALIFY('550 5.1.1 <a@example.com>: Recipient address rejected: User unknown in local recipient table', 'DATA').slice(0, 3),
    ['user-unknown', 'Hard', 'User unknown'],
  );
});

test('user unknown that nothing confirms, or that the status contradicts, is not a quarantine', () => {
  // No enhanced status, no stage: fail the message, count a soft error on the address.
  assert.deepEqual(QUALIFY('550 Unknown user a@example.com'), ['policy', 'Soft', 'Refused', 'fail', 'user-unknown-unconfirmed']);
  assert.deepEqual(QUALIFY('550 5.0.0 <a@example.com>... User unknown'), ['policy', 'Soft', 'Refused', 'fail', 'user-unknown-unconfirmed']);
  // X.7.x says policy, whatever the words: a refusal (the lead's decision on issue 14).
  assert.deepEqual(QUALIFY('550 5.7.1 <a@example.com>: Recipient address rejected: User unknown').slice(0, 3), ['policy', 'Soft', 'Refused']);
  // AT&T documents its 5.2.1 "Addressee unknown" as an unknown addressee: a provider rule.
  assert.deepEqual(QUALIFY('550 5.2.1 <a@example.com>... Addressee unknown').slice(0, 3), ['user-unknown', 'Hard', 'User unknown']);
  // au (KDDI) names no recipient when its filter refuses the sender ("550 : User unknown").
  assert.deepEqual(QUALIFY('550 : User unknown').slice(0, 3), ['policy', 'Soft', 'Refused']);
  assert.equal(QUALIFY('550 : User unknown')[4], 'kddi-filtered');
  // X.2.0: the mailbox exists; X.2.1: the mailbox is disabled (RFC 3463).
  assert.deepEqual(QUALIFY('550 5.2.0 Unknown user a@example.com').slice(0, 3), ['policy', 'Soft', 'Refused']);
  assert.deepEqual(QUALIFY('550 5.2.1 <a@example.com>... User Unknown').slice(0, 3), ['inactive-mailbox', 'Soft', 'Account disabled']);
  // After DATA (existing rule) and the recipient's own preferences.
  assert.deepEqual(QUALIFY('550 User unknown', 'DATA').slice(0, 3), ['policy', 'Soft', 'Refused']);
  assert.deepEqual(
    QUALIFY('550 5.1.1 RCP-P2 http://postmaster.social.example/codes#rcp Refused due to recipient preferences').slice(0, 3),
    ['policy', 'Soft', 'Refused'],
  );
});

test('provider rules confirm their own bare "user unknown" wordings, and only theirs', () => {
  // Each provider documents these replies as a missing mailbox (sources in bounce-rules.yaml).
  for (const [text, rule] of [
    ['550 5.7.1 No such user!', 'yandex-no-such-user'],
    ['550 Benutzer nicht bekannt/User unknown', 'webde-user-unknown'],
    ['550 Unknown User: Address incorrect', 'ionos-unknown-user'],
    ['554 Sorry, no mailbox here by that name. (#5.1.1)', 'qmail-no-mailbox'],
    ['550 cuda_nsu 5.1.1 <a@example.com>: Recipient address rejected: User unknown', 'barracuda-no-such-user'],
    ['550 <taro@ezweb.ne.jp>: User unknown', 'kddi-user-unknown'],
    ['550 Message was not accepted -- invalid mailbox. Local mailbox a@mail.ru is unavailable: user not found', 'mailru-user-not-found'],
    ['550 RCPT TO: User unknown', 'user-unknown-rcpt-in-reply'],
  ]) {
    assert.deepEqual(QUALIFY(text).slice(0, 3).concat(QUALIFY(text)[4]), ['user-unknown', 'Hard', 'User unknown', rule], text);
  }
  // The same words without the provider's mark are the general, unconfirmed case.
  assert.deepEqual(QUALIFY('550 5.7.1 No such user').slice(0, 3), ['policy', 'Soft', 'Refused']);
  assert.deepEqual(QUALIFY('550 <taro@example.org>: User unknown').slice(0, 4), ['policy', 'Soft', 'Refused', 'fail']);
  assert.equal(QUALIFY('550 Message was not accepted -- invalid mailbox. Local mailbox a@mail.ru is unavailable: account is disabled')[2], 'Account disabled');
  // A 5.7.x contradicts the wording even at RCPT TO, where policy checks answer too.
  assert.deepEqual(QUALIFY('550 5.7.1 <a@example.com>: Recipient address rejected: User unknown', 'RCPT').slice(0, 3), ['policy', 'Soft', 'Refused']);
});

test('bounce mails: user unknown with and without confirmation', async () => {
  const carriers = await mail('carrier-filter-dsn.eml');
  const got = carriers.recipients.map((r) => {
    const q = classifyBounce(carriers, r, policy);
    return [r.recipient, q.failureType, q.failureReason];
  });
  assert.deepEqual(got, [
    ['sakura@mobile.example.jp', 'Soft', 'Refused'], // "550 : User unknown"
    ['ren@carrier.example.jp', 'Soft', 'Refused'], // Status 5.2.0
    ['aoi@isp.example.jp', 'Soft', 'Account disabled'], // 5.2.1
    ['kenta@example.jp', 'Hard', 'User unknown'], // 5.1.1
  ]);

  const wrapped = await mail('postfix-wrapped.eml');
  assert.equal(classifyBounce(wrapped, wrapped.recipients[0], policy).ruleId, 'user-unknown-at-rcpt');

  const relay = await mail('relay-no-stage.eml');
  const [oskar, ines] = relay.recipients.map((r) => classifyBounce(relay, r, policy));
  assert.deepEqual([oskar.failureType, oskar.failureReason, oskar.disposition], ['Soft', 'Refused', 'fail']);
  assert.deepEqual([ines.failureType, ines.failureReason], ['Hard', 'User unknown']);

  // The recipient's own system (no relayed reply) says the name is unknown: Hard.
  const ndr = await mail('exchange-ndr.eml');
  assert.equal(classifyBounce(ndr, ndr.recipients[0], policy).failureType, 'Hard');
});

test('local delivery programs, DNS answers, expiry, line limits and protocol errors', async () => {
  const local = await mail('local-delivery-dsn.eml');
  const [pavel, lucia] = local.recipients.map((r) => classifyBounce(local, r, policy));
  assert.deepEqual([pavel.category, pavel.failureType, pavel.failureReason], ['transient', 'Soft', 'Unreachable']);
  assert.equal(pavel.ruleId, 'local-delivery-failure');
  assert.deepEqual([lucia.category, lucia.failureReason, lucia.ruleId], ['connection', 'Unreachable', 'dns-temporary']);

  // A domain that does not exist is still an invalid domain.
  assert.equal(QUALIFY('550 5.1.2 Host or domain name not found. Name service error for name=nx.example type=A: Host not found')[2], 'Invalid domain');
  assert.deepEqual(QUALIFY('550 5.4.312 Message expired, DNS query failed').slice(0, 3), ['expired', 'Soft', 'Unreachable']);
  assert.deepEqual(QUALIFY('500 Line limit exceeded', 'DATA').slice(0, 4), ['message-too-large', 'Ignored', 'Refused', 'fail']);
  assert.deepEqual(QUALIFY('504 5.5.2 Command parameter not implemented').slice(0, 4), ['protocol-error', 'Ignored', 'Unreachable', 'fail']);
  assert.deepEqual(QUALIFY('502 Command not recognized').slice(0, 2), ['protocol-error', 'Ignored']);
  assert.equal(QUALIFY('501 5.1.3 Bad recipient address syntax')[0], 'user-unknown', 'a bad address answered with 501 is still about the address');
});

test('wording of older MTAs: full mailbox, missing header, dropped connection, MX loop', () => {
  assert.equal(QUALIFY('552 Account(s) <a@example.com> does not have enough space')[2], 'Mailbox full');
  assert.equal(QUALIFY('554 delivery to a@example.com has failed due to a full mailbox')[2], 'Mailbox full');
  assert.deepEqual(QUALIFY('554 Messages without To: fields are not accepted here').slice(0, 3), ['policy', 'Soft', 'Refused']);
  assert.equal(QUALIFY('421 Connection was dropped by remote host')[0], 'connection');
  assert.equal(QUALIFY('554 5.4.6 mail for mx.example.com loops back to myself')[2], 'Unreachable');
});

test('"Recipient address rejected" is a dead address only when it gives no other reason', () => {
  assert.deepEqual(QUALIFY('550 <a@example.com> recipient rejected').slice(0, 2), ['user-unknown', 'Hard']);
  assert.deepEqual(QUALIFY('550 5.0.0 <a@example.com>: Recipient address rejected.').slice(0, 2), ['user-unknown', 'Hard']);
  const odd = QUALIFY('550 5.0.0 <a@example.com>: Recipient address rejected: On hold');
  assert.deepEqual([odd[0], odd[1], odd[2], odd[4]], ['undetermined', 'Soft', 'Not defined', null]);
});
