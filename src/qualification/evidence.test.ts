/**
 * The order of evidence (docs/BOUNCES.md) and the specificity of rules that quarantine at
 * once: near misses that must not come out Hard, the SMTP command deciding whose problem
 * a wording is, and every shipped rule carrying its source. Wordings here are written from
 * the providers' and RFCs' documentation, not taken from any test corpus.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSmtpReply } from '../mail/smtp-reply.ts';
import type { SmtpStage } from '../mail/reply-text.ts';
import { classifyReply, loadBouncePolicy } from './index.ts';
import { EVIDENCE_LAYERS } from './policy-schema.ts';

const policy = loadBouncePolicy();
const q = (text: string, command?: SmtpStage) => classifyReply(parseSmtpReply(text), policy, command ? { command } : {});

test('a mailbox that is disabled is not a domain without mail (null MX needs a domain or host)', () => {
  const disabled = q('550 This mailbox is disabled and not accepting messages');
  assert.deepEqual([disabled.category, disabled.failureType, disabled.failureReason], ['inactive-mailbox', 'Soft', 'Account disabled']);
  assert.notEqual(q('550 5.3.2 System not accepting network messages').failureType, 'Hard', 'X.3.2 with 550 is a busy or closing system');
  for (const nullMx of [
    '556 5.1.10 <a@example.net>: Recipient address has null MX',
    "550 5.1.10 The domain example.net doesn't receive email according to the administrator's returned Null MX",
    '521 5.3.2 mx.example.net does not accept mail',
  ]) {
    const r = q(nullMx);
    assert.deepEqual([r.category, r.failureType, r.disposition], ['bad-domain', 'Hard', 'fail-quarantine'], nullMx);
  }
  // The sender's null MX is about the sender (RFC 7505 section 4.2).
  assert.equal(q('550 5.7.27 example.org: Sender address has null MX').failureReason, 'Refused');
});

test('near misses never quarantine at once', () => {
  const nearMisses = [
    '550 This mailbox is disabled and not accepting messages',
    '550 Mailbox unavailable or access denied', // QQ: too much mail to this recipient
    '550 5.1.0 <bounce@esp.example> sender rejected',
    '553 5.1.8 <s@nx.example>... Domain of sender address s@nx.example does not exist',
    '550 5.7.1 Delivery not authorized, message refused',
    '550 5.7.27 example.org: Sender address has null MX',
    '501 Spam Blocked',
    '554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org',
    '550 5.2.1 The email account that you tried to reach is disabled',
    '452 4.2.2 The email account that you tried to reach is over quota',
    '450 4.1.1 <a@example.com>: Recipient address rejected: User unknown in local recipient table',
    '550 : User unknown',
    '550 5.2.0 Unknown user a@example.jp',
  ];
  for (const text of nearMisses) assert.notEqual(q(text).failureType, 'Hard', text);
});

test('the SMTP command says whose problem the wording is', () => {
  // After MAIL FROM an unknown domain or user is the sender's.
  assert.equal(q('550 5.1.2 Domain not found', 'MAIL').failureReason, 'Refused');
  assert.equal(q('550 5.1.2 Domain not found', 'RCPT').failureReason, 'Invalid domain');
  assert.equal(q('550 User unknown', 'MAIL').failureReason, 'Refused');
  // After DATA every recipient was already accepted: the refusal is a filter's.
  assert.equal(q('550 Unknown user a@example.jp', 'DATA').failureReason, 'Refused');
  // A protocol error answered to DATA stays a protocol error, not a content refusal.
  assert.equal(q('504 Command parameter not implemented', 'DATA').category, 'protocol-error');
});

test('a clear wording wins over a generic status; a precise status wins over generic wording', () => {
  // Except a bare "user unknown", which quarantines at once and so needs confirming: a 5.7.1
  // contradicts it, and a 5.0.0 confirms nothing (docs/BOUNCES.md, "When 'User unknown' is Hard").
  assert.equal(q('550 5.7.1 <a@example.com>: Recipient address rejected: User unknown').failureReason, 'Refused');
  assert.equal(q('550 5.0.0 <a@example.com>... No such user').failureReason, 'Refused');
  assert.equal(q('550 5.0.0 <a@example.com>... No such user', 'RCPT').failureReason, 'User unknown');
  assert.equal(q('550 5.2.2 Delivery refused: mailbox full').failureReason, 'Mailbox full');
  assert.equal(q('550 5.1.1 Access denied').failureReason, 'User unknown');
  // qmail and Cisco AsyncOS put the status in the text after "#".
  assert.equal(q('550 #5.1.0 Address rejected a@example.com').failureReason, 'User unknown');
  assert.equal(q("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)").category, 'relay-denied');
});

test('families of wordings: spam, disabled, full, unknown, rate limits, in several forms', () => {
  for (const spam of ['554 Spam email', '550 Probable spam', '550 5.9.8 Spam', '550 Message rejected as spam by Content Filtering', '550 Error: content rejected', '554 rejected by SpamBouncer']) {
    assert.equal(q(spam).failureReason, 'Refused', spam);
  }
  for (const unknown of ['554 5.1.1 BAD_RECIPIENT', '550 <a@example.com> is not a valid mailbox', '550 5.1.0 mailbox unavailable', '550 Benutzer nicht bekannt/User unknown']) {
    const r = q(unknown);
    assert.deepEqual([r.failureReason, r.failureType], ['User unknown', 'Hard'], unknown);
  }
  // Bare "no such user" forms are Hard once the stage confirms them, a soft refusal before.
  for (const bare of ['550 No such user here', '550 MAILBOX NOT FOUND']) {
    assert.deepEqual([q(bare, 'RCPT').failureReason, q(bare, 'RCPT').failureType], ['User unknown', 'Hard'], bare);
    assert.deepEqual([q(bare).failureReason, q(bare).failureType], ['Refused', 'Soft'], bare);
  }
  for (const full of ['552 Account is full', '550 User has exhausted allowed storage space.', '452 Error writing message: Disk quota exceeded']) {
    assert.equal(q(full).failureReason, 'Mailbox full', full);
  }
  for (const slow of ['421 Rate limit reached. Please try again later', '450 4.2.1 The user you are trying to contact is receiving mail too quickly', '550 Sender frequency limited']) {
    assert.equal(q(slow).failureReason, 'Unreachable', slow);
  }
  assert.equal(q('552 5.3.4 Your message exceeded Google\'s message size limits').category, 'message-too-large');
});

test('every shipped rule has a source and the file is in the order of evidence', () => {
  for (const rule of policy.rules) {
    assert.ok(rule.reference && rule.reference.length > 10, `${rule.id} has a source`);
    assert.ok(EVIDENCE_LAYERS.includes(rule.evidence), rule.id);
  }
  const layers = policy.rules.map((r) => EVIDENCE_LAYERS.indexOf(r.evidence));
  assert.deepEqual(layers, [...layers].sort((a, b) => a - b));
  const missing = fileURLToPath(new URL('./testdata/missing-source.yaml', import.meta.url));
  assert.throws(() => loadBouncePolicy({ rulesFiles: [missing] }), /rule #1 \(id no-source\): source: is required/);
});

test('the reply development set is large enough and names a source on every line', () => {
  const file = fileURLToPath(new URL('./testdata/replies.jsonl', import.meta.url));
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
  assert.ok(lines.length >= 150, `${lines.length} lines`);
  for (const line of lines) {
    assert.equal(typeof line.reply, 'string');
    assert.ok(typeof line.source === 'string' && line.source.length > 5, line.reply);
  }
});

test('challenge-response requests and auto-replies are Ignored, never a failure', async () => {
  const { parseBounceMail } = await import('../mail/bounce-mail.ts');
  const { classifyBounce } = await import('./index.ts');
  for (const name of ['challenge-boxbe.eml', 'challenge-verify.eml', 'auto-reply.eml']) {
    const p = await parseBounceMail(readFileSync(new URL(`../mail/testdata/${name}`, import.meta.url)));
    const c = classifyBounce(p, p.recipients[0], policy);
    assert.deepEqual([c.failureType, c.disposition], ['Ignored', 'ignore'], name);
  }
  // The same wording inside a bounce is the challenge-response rule, Ignored too.
  const r = q('550 Your message is held: please verify yourself as a human at https://challenge.example/x');
  assert.deepEqual([r.category, r.failureType], ['challenge-response', 'Ignored']);
});

test('shipped: "user unknown" quarantines once confirmed; an operator file makes the bare wording Hard (policy/examples)', () => {
  const bareReply = parseSmtpReply('550 Unknown user a@example.com');
  const shipped = classifyReply(bareReply, policy);
  assert.deepEqual([shipped.failureType, shipped.failureReason, shipped.disposition], ['Soft', 'Refused', 'fail']);
  const file = fileURLToPath(new URL('../../policy/examples/hard-user-unknown.yaml', import.meta.url));
  const hard = loadBouncePolicy({ rulesFiles: [file] });
  const bare = classifyReply(bareReply, hard);
  assert.deepEqual([bare.failureType, bare.failureReason, bare.disposition, bare.ruleId], ['Hard', 'User unknown', 'fail-quarantine', 'user-unknown']);
  assert.equal(classifyReply(parseSmtpReply('550 5.7.1 <a@example.com>: Recipient address rejected: User unknown'), hard).failureType, 'Hard');
  // Confirmed forms are Hard either way; the DATA stage and X.2.0 still overrule the wording.
  for (const p of [policy, hard]) {
    assert.equal(classifyReply(bareReply, p, { command: 'RCPT' }).failureType, 'Hard');
    assert.equal(classifyReply(parseSmtpReply('550 5.1.1 <a@example.com>: User unknown'), p).failureType, 'Hard');
    assert.equal(classifyReply(bareReply, p, { command: 'DATA' }).failureReason, 'Refused');
    assert.equal(classifyReply(parseSmtpReply('550 5.2.0 Unknown user a@example.com'), p).failureReason, 'Refused');
  }
});

test('a definitive "no mail exchanger or IP address" is Hard like a null MX; a temporary one is not', () => {
  assert.equal(q("Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)").failureType, 'Hard');
  assert.equal(q("Sorry, I couldn't find a mail exchanger or IP address. (#4.4.3)").failureType, 'Soft');
  assert.equal(q('550 5.1.2 Host or domain name not found. Name service error for name=nx.example type=A: Host not found').failureType, 'Soft');
});

test('the sending side is not the recipient: SMTP AUTH failures and refused IPs are never User unknown', () => {
  for (const text of ['535 5.7.8 Authentication failed: account not found', '550 Your IP address is not valid for sending', '550 5.7.1 Sender address does not exist']) {
    const r = q(text);
    assert.equal(r.failureReason, 'Refused', text);
  }
});
