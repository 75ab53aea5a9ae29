/**
 * Fuzz target: the bounce-mail parser (src/mail/bounce-mail.ts and the modules it reads
 * with: DSN RFC 3464, ARF RFC 5965, auto-replies, text bounces, MIME input) followed by
 * the classifier. Mails are made from the fixtures in src/mail/testdata and from generated
 * DSN, ARF and auto-reply mails, then mutated the way real bounces are broken: lines
 * dropped, repeated or swapped, report fields inserted, boundaries changed, line ends
 * mixed, parts base64-encoded, mails nested inside mails (sometimes very deep), stray
 * bytes, and (one in 1,700) a line repeated tens of thousands of times. A few are random bytes.
 *
 * Invariants: never throws nor rejects (it documents "never throws"); the kind is one of
 * the six; only an unparsable mail has an error; a mail that is not a bounce names no
 * recipient, an auto-reply one, a complaint at least one; every recipient field has its
 * documented form (status RFC 3463, no line breaks in addresses); every recipient
 * classifies to a known category, type, reason and disposition.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parseBounceMail, type ParsedBounce } from '../../../src/mail/bounce-mail.ts';
import { classifyBounce, loadBouncePolicy, type BouncePolicy } from '../../../src/qualification/index.ts';
import { longRun, mutated, nastyString } from '../arbitraries.ts';
import type { FuzzTarget } from '../harness.ts';
import { assertQualification, WORDING } from './smtp-reply.ts';

const TESTDATA = new URL('../../../src/mail/testdata/', import.meta.url);
const FIXTURES = readdirSync(TESTDATA).filter((f) => f.endsWith('.eml')).sort().map((f) => readFileSync(new URL(f, TESTDATA), 'latin1'));

const addressArb = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9._+-]{1,10}@[a-z0-9-]{1,10}\.(?:example|test|com)$/) },
  { weight: 1, arbitrary: fc.constantFrom('bounce+1a-0123456789@bounces.sender.example', '"quoted local"@x.example', '<a@b.example>', 'a@', '@b.example', 'a@@b', 'postmaster', 'a@b.example>', '<>', 'ÄÖ@ü.example', 'a@[192.0.2.1]') },
  { weight: 1, arbitrary: nastyString(16) },
);
const statusArb = fc.oneof(fc.constantFrom('5.1.1', '4.2.2', '5.7.1', '4.4.7', '5.0.0', '2.0.0', '4.7.28', '5.1.10', 'failed', '', '5.1', '9.9.9', '5.1.1 (user unknown)'), fc.tuple(fc.integer({ min: 2, max: 5 }), fc.nat(9), fc.nat(30)).map(([a, b, c]) => `${a}.${b}.${c}`));
const actionArb = fc.constantFrom('failed', 'delayed', 'delivered', 'relayed', 'expanded', 'Failed', 'failure', 'fail', '', 'unknown');
const codeArb = fc.constantFrom('550', '552', '421', '450', '554', '250', '5.1.1', '');
const textArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...WORDING) }, { weight: 1, arbitrary: nastyString(30) });
const boundaryArb = fc.oneof(fc.constantFrom('b1', '----=_Part_0_1', '=_x', 'a"b', 'very-long-'.repeat(8), ' ', ''), fc.stringMatching(/^[A-Za-z0-9'()+_,./:=?-]{1,30}$/));

interface DsnRecipient {
  final: string;
  original: string | null;
  action: string;
  status: string;
  code: string;
  text: string;
}
const dsnRecipientArb: fc.Arbitrary<DsnRecipient> = fc.record({ final: addressArb, original: fc.option(addressArb), action: actionArb, status: statusArb, code: codeArb, text: textArb });

function dsnMail(rcpts: DsnRecipient[], boundary: string, blankBetween: boolean, notice: string, returned: string): string {
  const fields = rcpts.map((r) => [`Final-Recipient: rfc822; ${r.final}`, r.original ? `Original-Recipient: rfc822;${r.original}` : null, `Action: ${r.action}`, `Status: ${r.status}`, `Remote-MTA: dns; mx.${r.final.split('@')[1] ?? 'x'}`, `Diagnostic-Code: smtp; ${r.code} ${r.status} ${r.text}`].filter(Boolean).join('\n'));
  return [
    'From: MAILER-DAEMON@mx.sender.example (Mail Delivery System)',
    'To: bounce+1a-0123456789@bounces.sender.example',
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    notice,
    ...rcpts.map((r) => `<${r.final}>: host mx said: ${r.code} ${r.status} ${r.text} (in reply to RCPT TO command)`),
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.sender.example',
    'Original-Envelope-Id: env-1',
    '',
    fields.join(blankBetween ? '\n\n' : '\n'),
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    returned,
    '',
    `--${boundary}--`,
    '',
  ].join('\n');
}

function arfMail(type: string, rcpts: string[], boundary: string, returned: string): string {
  return [
    'From: Feedback Loop <fbl@feedback.example>',
    'To: fbl@sender.example',
    'Subject: FW: Our offers',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain',
    '',
    'This is an email abuse report.',
    '',
    `--${boundary}`,
    'Content-Type: message/feedback-report',
    '',
    `Feedback-Type: ${type}`,
    'User-Agent: FBL/1.0',
    'Version: 1',
    ...rcpts.map((r) => `Original-Rcpt-To: <${r}>`),
    '',
    `--${boundary}`,
    'Content-Type: message/rfc822',
    '',
    returned,
    '',
    'Hello',
    `--${boundary}--`,
    '',
  ].join('\n');
}

function autoReplyMail(subject: string, headers: string[], body: string): string {
  return ['From: Someone <someone@example.org>', 'To: bounce+1a-0123456789@bounces.sender.example', `Subject: ${subject}`, ...headers, 'Content-Type: text/plain; charset=utf-8', '', body, ''].join('\n');
}

const returnedArb = fc.tuple(addressArb, fc.constantFrom('<12.1a.k3j9x0qa@shop.example>', '<x@y>', '', '<>')).map(([to, mid]) => ['From: Shop <news@shop.example>', `To: ${to}`, 'Subject: Our offers', `Message-ID: ${mid}`, 'X-Estafeta-Log: 1a-0123456789'].join('\n'));

const generatedArb = fc.oneof(
  fc.tuple(fc.array(dsnRecipientArb, { maxLength: 6 }), boundaryArb, fc.boolean(), textArb, returnedArb).map(([r, b, blank, n, ret]) => dsnMail(r, b, blank, n, ret)),
  fc.tuple(fc.constantFrom('abuse', 'fraud', 'virus', 'other', 'not-spam', '', 'ABUSE'), fc.array(addressArb, { maxLength: 3 }), boundaryArb, returnedArb).map(([t, r, b, ret]) => arfMail(t, r, b, ret)),
  fc.tuple(fc.oneof(fc.constantFrom('Out of Office: Our offers', 'Automatic reply: hi', 'Auto: away', 'Abwesenheitsnotiz', 'Re: Our offers', 'Delivery Status Notification (Failure)', 'Undeliverable: x'), nastyString(20)), fc.subarray(['Auto-Submitted: auto-replied', 'Precedence: bulk', 'X-Autoreply: yes', 'X-Auto-Response-Suppress: All', 'List-Unsubscribe: <mailto:u@x>', 'In-Reply-To: <12.1a.k3j9x0qa@shop.example>', 'X-Failed-Recipients: a@b.example']), textArb).map(([s, h, b]) => autoReplyMail(s, h, b)),
);

const INSERTED_LINES = fc.oneof(
  fc.tuple(fc.constantFrom('Final-Recipient', 'Original-Recipient', 'X-Actual-Recipient', 'Original-Rcpt-To', 'X-Failed-Recipients', 'To', 'From', 'Return-Path'), addressArb).map(([n, a]) => `${n}: rfc822; ${a}`),
  statusArb.map((s) => `Status: ${s}`),
  actionArb.map((a) => `Action: ${a}`),
  fc.tuple(codeArb, textArb).map(([c, t]) => `Diagnostic-Code: smtp; ${c} ${t}`),
  boundaryArb.map((b) => `Content-Type: multipart/mixed; boundary="${b}"`),
  boundaryArb.map((b) => `--${b}`),
  fc.constantFrom(
    'Content-Type: message/delivery-status', 'Content-Type: message/feedback-report', 'Content-Type: message/rfc822', 'Content-Type: text/rfc822-headers', 'Content-Type: message/global-delivery-status',
    'Content-Type: text/html', 'Content-Type: text/plain; charset=iso-2022-jp', 'Content-Type: text/plain; charset="bogus"', 'Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: quoted-printable',
    'Content-Disposition: attachment; filename="details.txt"', 'Feedback-Type: abuse', 'Auto-Submitted: auto-replied', 'Subject: =?utf-8?B?w6k=?= Undeliverable', 'Subject: =?utf-8?Q?=E2=80=94?=', 'MIME-Version: 1.0',
    '', ' ', '\t folded continuation', '=', '=0', '=\n', '<table><tr><td>550 5.1.1 user unknown</td></tr></table>', '&#0; &#x110000; &#99999999999;', 'From nobody Mon Jan  1 00:00:00 2024',
  ),
  textArb,
  longRun(['Final-Recipient: a@b\n', '--b\n', 'a@b.c ', '<a@b.c>', ' said: 550 ', '5.1.1 ']),
);

type LineEdit = { kind: 'delete' | 'duplicate' | 'swap' | 'insert' | 'repeat'; at: number; line: string; times: number };
const lineEditArb: fc.Arbitrary<LineEdit> = fc.record({
  kind: fc.constantFrom('delete', 'duplicate', 'swap', 'insert', 'insert', 'repeat'),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  line: INSERTED_LINES,
  times: fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 2, max: 20 }) }, { weight: 1, arbitrary: fc.integer({ min: 100, max: 2000 }) }),
});

function editLines(mail: string, edits: LineEdit[]): string {
  const lines = mail.split(/\r?\n/);
  for (const e of edits) {
    const i = Math.min(lines.length - 1, Math.floor(e.at * lines.length));
    if (e.kind === 'delete') lines.splice(i, 1);
    else if (e.kind === 'duplicate') lines.splice(i, 0, lines[i] ?? '');
    else if (e.kind === 'swap' && i + 1 < lines.length) [lines[i], lines[i + 1]] = [lines[i + 1], lines[i]];
    else if (e.kind === 'insert') lines.splice(i, 0, e.line);
    else if (e.kind === 'repeat') lines.splice(i, 0, ...Array<string>(e.times).fill(e.line.slice(0, 200)));
  }
  return lines.join('\n');
}

/** Wraps a mail as a message/rfc822 part of another, `depth` times. */
function nest(mail: string, depth: number, base64: boolean): string {
  let out = mail;
  for (let i = 0; i < depth; i++) {
    const b = `nest${i}`;
    const body = base64 && i === 0 ? Buffer.from(out, 'latin1').toString('base64').replace(/.{76}/g, '$&\n') : out;
    out = ['From: MAILER-DAEMON@gw.example', 'To: bounce+1a-0123456789@bounces.sender.example', 'Subject: Fwd: Undelivered Mail', 'MIME-Version: 1.0', `Content-Type: multipart/mixed; boundary="${b}"`, '', `--${b}`, 'Content-Type: text/plain', '', 'Forwarded bounce.', `--${b}`, 'Content-Type: message/rfc822', ...(base64 && i === 0 ? ['Content-Transfer-Encoding: base64'] : []), '', body, `--${b}--`, ''].join('\n');
  }
  return out;
}

interface Input {
  mail: string;
  eol: '\n' | '\r\n' | '\r' | 'mixed';
  asBuffer: boolean;
}

function arbitrary(): fc.Arbitrary<Input> {
  const base = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...FIXTURES) }, { weight: 2, arbitrary: generatedArb });
  const depthArb = fc.oneof({ weight: 30, arbitrary: fc.constant(0) }, { weight: 6, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 10, max: 60 }) });
  const structured = fc
    .tuple(base, fc.array(lineEditArb, { maxLength: 5 }), depthArb, fc.boolean())
    .map(([mail, edits, depth, b64]) => nest(editLines(mail, edits), depth, b64));
  // Rarely, a mail of tens of thousands of lines: the size a hostile sender would choose.
  const huge = fc.tuple(base, INSERTED_LINES, fc.integer({ min: 10_000, max: 120_000 }), fc.double({ min: 0, max: 1, noNaN: true })).map(([mail, line, n, at]) => {
    const lines = mail.split('\n');
    const i = Math.floor(at * lines.length);
    return [...lines.slice(0, i), `${line.slice(0, 60)}\n`.repeat(n), ...lines.slice(i)].join('\n');
  });
  const mail = fc.oneof(
    { weight: 1200, arbitrary: structured },
    { weight: 1, arbitrary: huge },
    { weight: 300, arbitrary: mutated(structured, fc.oneof(nastyString(8), INSERTED_LINES), 3) },
    { weight: 100, arbitrary: fc.string({ unit: 'binary', maxLength: 400 }) },
    { weight: 100, arbitrary: fc.tuple(fc.constantFrom('From: a@b\n\n', 'Subject: x\n', 'X:'), fc.string({ unit: 'binary-ascii', maxLength: 400 })).map(([h, b]) => h + b) },
  );
  return fc.record({ mail, eol: fc.constantFrom('\n', '\n', '\r\n', '\r', 'mixed'), asBuffer: fc.boolean() });
}

function withEol(mail: string, eol: Input['eol']): string {
  if (eol === '\n') return mail;
  if (eol === 'mixed') {
    let n = 0;
    return mail.replace(/\n/g, () => ['\n', '\r\n', '\r'][n++ % 3]);
  }
  return mail.replace(/\n/g, eol);
}

let policy: BouncePolicy | null = null;
const KINDS = ['dsn', 'arf', 'auto-reply', 'bounce', 'not-bounce', 'unparsable'];
const ACTIONS = [null, 'failed', 'delayed', 'delivered', 'relayed', 'expanded'];
const COMMANDS = [null, 'CONNECT', 'HELO', 'MAIL', 'RCPT', 'DATA'];

function checkParsed(p: ParsedBounce, size: number): void {
  assert.ok(KINDS.includes(p.kind), `kind ${p.kind}`);
  assert.equal(p.kind === 'unparsable', typeof p.error === 'string', 'only an unparsable mail has an error');
  assert.ok(Array.isArray(p.recipients));
  if (p.kind === 'not-bounce' || p.kind === 'unparsable') assert.equal(p.recipients.length, 0, `a ${p.kind} mail names no recipient`);
  if (p.kind === 'auto-reply') assert.equal(p.recipients.length, 1, 'an auto-reply names its sender');
  if (p.kind === 'arf') {
    assert.ok(p.recipients.length >= 1, 'a complaint names a recipient (or null)');
    assert.ok(typeof p.feedbackType === 'string' && p.feedbackType !== '', 'a complaint has a feedback type');
  }
  assert.ok(p.recipients.length <= Math.max(1, size / 3), `${p.recipients.length} recipients from ${size} bytes`);
  assert.equal(typeof p.subject, 'string');
  assert.equal(typeof p.from, 'string');
  for (const [k, v] of Object.entries(p.originalHeaders)) assert.ok(typeof v === 'string' && k === k.toLowerCase(), `original header ${k}`);
  for (const r of p.recipients) {
    assert.ok(r.recipient === null || (typeof r.recipient === 'string' && r.recipient !== '' && !/[\r\n]/.test(r.recipient)), `recipient ${JSON.stringify(r.recipient)}`);
    assert.ok(r.originalRecipient === null || (typeof r.originalRecipient === 'string' && !/[\r\n]/.test(r.originalRecipient)), `original recipient ${JSON.stringify(r.originalRecipient)}`);
    assert.ok(r.status === null || /^[245]\.\d{1,3}\.\d{1,3}$/.test(r.status), `status ${JSON.stringify(r.status)}`);
    assert.ok(ACTIONS.includes(r.action), `action ${r.action}`);
    assert.ok(COMMANDS.includes(r.command), `command ${r.command}`);
    assert.ok(r.diagnostic === null || typeof r.diagnostic === 'string', 'diagnostic');
    if (r.reply) {
      assert.ok(Number.isInteger(r.reply.code) && r.reply.code >= 0 && r.reply.code <= 999, `reply code ${r.reply.code}`);
      assert.ok(r.reply.enhanced === null || /^[245]\.\d{1,3}\.\d{1,3}$/.test(r.reply.enhanced), `reply enhanced ${r.reply.enhanced}`);
    }
    assertQualification(classifyBounce(p, r, policy!), 'classifyBounce');
  }
}

async function check(input: Input): Promise<void> {
  policy ??= loadBouncePolicy();
  const text = withEol(input.mail, input.eol);
  const raw = input.asBuffer ? Buffer.from(text, 'latin1') : text;
  let parsed: ParsedBounce;
  try {
    parsed = await parseBounceMail(raw);
  } catch (err) {
    assert.fail(`parseBounceMail threw (it documents that it never throws): ${err instanceof Error ? err.stack : String(err)}`);
  }
  checkParsed(parsed, raw.length);
}

export const bounceMailTarget: FuzzTarget<Input> = {
  name: 'bounce-mail',
  description: 'bounce-mail parser and classification of each recipient (src/mail/bounce-mail.ts and friends)',
  arbitrary,
  async: true,
  check,
};
