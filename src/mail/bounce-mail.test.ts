import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseBounceMail, type ParsedBounce } from './bounce-mail.ts';

const fixture = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url));
const parse = (name: string) => parseBounceMail(fixture(name));
const byAddress = (p: ParsedBounce, address: string) => p.recipients.find((r) => r.recipient === address);

test('Postfix DSN: every failed recipient with its status, reply and the returned headers', async () => {
  const p = await parse('postfix-dsn.eml');
  assert.equal(p.kind, 'dsn');
  assert.equal(p.reportingMta, 'mx1.sender.example');
  assert.equal(p.envelopeId, 'd42-r7');
  assert.equal(p.originalMessageId, '<d42.r7.1715673729@sender.example>');
  assert.equal(p.originalHeaders['x-estafeta-log'], 'd42.r7.9f3a');
  assert.deepEqual(p.recipients.map((r) => r.recipient), ['ana.lopez@example.com', 'pedro@full.example.net']);
  const ana = byAddress(p, 'ana.lopez@example.com')!;
  assert.equal(ana.action, 'failed');
  assert.equal(ana.status, '5.1.1');
  assert.equal(ana.reply?.code, 550);
  assert.match(ana.diagnostic ?? '', /User unknown in virtual mailbox table/);
  assert.equal(ana.remoteMta, 'mx.example.com');
  assert.equal(ana.command, 'RCPT');
  const pedro = byAddress(p, 'pedro@full.example.net')!;
  assert.equal(pedro.status, '5.2.2');
  assert.equal(pedro.reply?.code, 552);
});

test('Exim text bounce: X-Failed-Recipients and one explanation per address', async () => {
  const p = await parse('exim-failed.eml');
  assert.equal(p.kind, 'bounce');
  assert.deepEqual(p.recipients.map((r) => r.recipient), ['carla@example.org', 'dmitri@bad-domain.example']);
  const carla = byAddress(p, 'carla@example.org')!;
  assert.equal(carla.reply?.code, 550);
  assert.equal(carla.status, '5.7.1');
  assert.match(carla.reply?.text ?? '', /spamhaus/);
  assert.equal(carla.command, 'RCPT');
  const dmitri = byAddress(p, 'dmitri@bad-domain.example')!;
  assert.match(dmitri.diagnostic ?? '', /Unrouteable address/);
  assert.doesNotMatch(dmitri.diagnostic ?? '', /spamhaus/, 'one recipient must not inherit the other one\'s reason');
  assert.equal(p.originalHeaders['x-estafeta-log'], 'd42.r8.77aa');
});

test('Exchange text NDR: the recipient line, not the quoted To of the original', async () => {
  const p = await parse('exchange-ndr.eml');
  assert.equal(p.kind, 'bounce');
  assert.equal(p.recipients.length, 1);
  assert.equal(p.recipients[0].recipient, 'jonas.berg@corp.example.net');
  assert.match(p.recipients[0].diagnostic ?? '', /recipient name is not recognized/);
});

test('Gmail text bounce: quoted-printable body, reply found after the address', async () => {
  const p = await parse('gmail-text.eml');
  assert.equal(p.kind, 'bounce');
  assert.equal(p.recipients[0].recipient, 'lena.fischer@example.de');
  assert.equal(p.recipients[0].reply?.code, 550);
  assert.equal(p.recipients[0].status, '5.2.1');
  assert.match(p.recipients[0].diagnostic ?? '', /account has been disabled/);
  assert.equal(p.originalMessageId, '<d44.r1.1715850600@sender.example>');
});

test('qmail: two recipients, the status in "(#5.1.1)" and a 452 reply', async () => {
  const p = await parse('qmail-text.eml');
  assert.equal(p.kind, 'bounce');
  const tomas = byAddress(p, 'tomas@hosting.example')!;
  assert.equal(tomas.status, '5.1.1');
  const olga = byAddress(p, 'olga@hosting.example')!;
  assert.equal(olga.reply?.code, 452);
  assert.equal(olga.status, '4.2.2');
  assert.equal(p.originalMessageId, '<d45.r3.1715860800@sender.example>');
});

test('Postfix DSN: the SMTP stage is read from the notice ("in reply to end of DATA command")', async () => {
  const p = await parse('postfix-data.eml');
  assert.equal(p.kind, 'dsn');
  assert.equal(p.recipients[0].recipient, 'haruto@mobile.example.jp');
  assert.equal(p.recipients[0].command, 'DATA');
  assert.equal(p.recipients[0].reply?.code, 550);
});

test('Postfix DSN without the stage in Diagnostic-Code: the stage comes from the wrapped notice', async () => {
  const p = await parse('postfix-wrapped.eml');
  assert.equal(p.kind, 'dsn');
  const r = p.recipients[0];
  assert.equal(r.recipient, 'marta.nowak@example.pl');
  assert.equal(r.status, '5.0.0');
  assert.equal(r.reply?.code, 550);
  assert.equal(r.command, 'RCPT');
  assert.equal(p.originalHeaders['x-estafeta-log'], 'd47.r1.1c2d');
});

test('text notice: a reply wrapped after "said: 550", one reason per recipient', async () => {
  const p = await parse('relay-no-stage.eml');
  assert.equal(p.kind, 'bounce');
  assert.deepEqual(p.recipients.map((r) => r.recipient), ['oskar@example.se', 'ines@example.pt']);
  const [oskar, ines] = p.recipients;
  assert.equal(oskar.reply?.code, 550);
  assert.equal(oskar.reply?.enhanced, null);
  assert.equal(oskar.command, null, 'the notice does not say which command was refused');
  assert.equal(ines.status, '5.1.1');
  assert.match(ines.diagnostic ?? '', /virtual mailbox table/);
  assert.doesNotMatch(oskar.diagnostic ?? '', /virtual mailbox/);
});

test('Sendmail pipelines RCPT and DATA: a refusal printed after ">>> DATA" is not taken for a DATA refusal', async () => {
  const p = await parse('sendmail-pipelined.eml');
  assert.equal(p.kind, 'dsn');
  assert.equal(p.recipients[0].recipient, 'yuki@mobile.example.jp');
  assert.notEqual(p.recipients[0].command, 'DATA');
  assert.equal(p.recipients[0].reply?.code, 550);
});

test('ARF report: feedback type, Original-Rcpt-To, the original message', async () => {
  const p = await parse('arf-abuse.eml');
  assert.equal(p.kind, 'arf');
  assert.equal(p.feedbackType, 'abuse');
  assert.equal(p.recipients[0].recipient, 'Maria.Rossi@mailbox.example');
  assert.equal(p.originalHeaders['x-estafeta-log'], 'd47.r9.c0c0');
  assert.equal(p.originalMessageId, '<d47.r9.1716025900@sender.example>');
});

test('ARF report without Original-Rcpt-To falls back to the original To', async () => {
  const p = await parse('arf-redacted.eml');
  assert.equal(p.kind, 'arf');
  assert.equal(p.feedbackType, 'fraud');
  assert.equal(p.recipients[0].recipient, 'niko@isp.example');
});

test('auto-replies: RFC 3834 header, and a French subject alone', async () => {
  const a = await parse('auto-reply.eml');
  assert.equal(a.kind, 'auto-reply');
  assert.equal(a.recipients[0].recipient, 'sofia@example.pt');
  const b = await parse('auto-reply-subject.eml');
  assert.equal(b.kind, 'auto-reply');
  assert.equal(b.recipients[0].recipient, 'julien.moreau@example.fr');
});

test('a bounce from Postfix carries Auto-Submitted too and is still a bounce, not an auto-reply', async () => {
  const p = await parse('postfix-dsn.eml');
  assert.notEqual(p.kind, 'auto-reply');
});

test('broken MIME (boundary never used): the report is still read from the raw body', async () => {
  const p = await parse('broken-mime.eml');
  assert.notEqual(p.kind, 'unparsable');
  assert.equal(p.recipients[0].recipient, 'hugo@example.net');
  assert.equal(p.recipients[0].status, '5.1.1');
});

test('ordinary mail is not a bounce', async () => {
  const p = await parse('not-bounce.eml');
  assert.equal(p.kind, 'not-bounce');
  assert.deepEqual(p.recipients, []);
});

test('old Mac line ends (CR only) parse like LF', async () => {
  const cr = Buffer.from(fixture('qmail-text.eml').toString('latin1').replace(/\n/g, '\r'), 'latin1');
  const p = await parseBounceMail(cr);
  assert.equal(p.kind, 'bounce');
  assert.deepEqual(p.recipients.map((r) => r.recipient), ['tomas@hosting.example', 'olga@hosting.example']);
});

test('garbage never throws: unparsable with an error', async () => {
  for (const input of ['', '\u0000\u0001\u0002 binary junk', 'just a sentence without headers', Buffer.alloc(0)]) {
    const p = await parseBounceMail(input);
    assert.equal(p.kind, 'unparsable');
    assert.ok(p.error && p.error.length > 0);
    assert.deepEqual(p.recipients, []);
  }
});

test('a string input works like a Buffer', async () => {
  const p = await parseBounceMail(fixture('exim-failed.eml').toString('utf8'));
  assert.equal(p.recipients.length, 2);
});

test('blank lines before the headers and an unknown charset do not hide the report', async () => {
  const p = await parse('exchange-dsn-preamble.eml');
  assert.equal(p.kind, 'dsn');
  assert.equal(p.recipients[0].recipient, 'kari.nordmann@hq.example.no');
  assert.equal(p.recipients[0].status, '5.1.1');
  assert.equal(p.reportingMta, 'HQEXCH01.hq.example.no');
});

test('an mbox "From " line before the headers is skipped', async () => {
  const p = await parseBounceMail(Buffer.concat([Buffer.from('From MAILER-DAEMON  Mon May 20 10:00:00 2024\n'), fixture('qmail-text.eml')]));
  assert.equal(p.kind, 'bounce');
  assert.equal(p.subject, 'failure notice');
});

test('hostile input stays cheap: long dotted runs, thousands of addresses, huge lines', async () => {
  const head = 'From: MAILER-DAEMON@relay.example\nSubject: Undelivered Mail\n\n';
  const inputs = [
    head + 'a@' + 'a.'.repeat(50_000) + '-\n',
    head + Array.from({ length: 5_000 }, (_, i) => `user${i}@example.com: 550 5.1.1 user unknown`).join('\n'),
    head + '<a@example.com>: ' + '1.2.3.'.repeat(100_000) + '\n',
    head + '<a@example.com>:' + '\n'.repeat(300_000) + '<<< 550 x\n',
    head + 'x'.repeat(2_000_000) + ' 550 5.1.1 <a@example.com> unknown\n',
  ];
  const started = Date.now();
  for (const input of inputs) {
    const p = await parseBounceMail(input);
    assert.equal(p.kind, 'bounce');
    assert.ok(p.recipients.length <= 500, 'recipients are capped');
  }
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
});

test('a feedback report sent as plain text is still a complaint report', async () => {
  const p = await parse('arf-text-plain.eml');
  assert.equal(p.kind, 'arf');
  assert.equal(p.feedbackType, 'abuse');
  assert.equal(p.recipients[0].recipient, 'ivan@mailbox.example');
  assert.equal(p.originalMessageId, '<d50.r1.1716300000@sender.example>');
});

// Formats that are not RFC 3464 (fixtures written for Estafeta from the MTAs' documented
// layouts): the failed recipient, never the list's bounce address or a returned To: that
// names a list, quotes stripped, versions not read as status codes.
test('X.400 NDR: the SMTP address inside dda:SMTP= is the recipient', async () => {
  const p = await parse('x400-ndr.eml');
  assert.deepEqual(p.recipients.map((r) => r.recipient), ['hanna.berg@legacy.example']);
});

test('Exim: "(generated from x)" is the address sent to; "an address generated from x" hides the child', async () => {
  const p = await parse('exim-generated.eml');
  assert.deepEqual(p.recipients.map((r) => [r.recipient, r.originalRecipient]), [
    ['jonas.real@internal.example', 'sales@shop.example'],
    ['orders@shop.example', null],
  ]);
});

test('Smail: quotes stripped, a suggested address is not a recipient, a version is not a status', async () => {
  const p = await parse('smail-fails.eml');
  assert.deepEqual(p.recipients.map((r) => r.recipient), ['olga@old.example']);
  assert.equal(p.recipients[0].status, null, 'Mailman 2.0.12 is a version');
  assert.equal(p.originalHeaders['x-mailer'], 'Mailman 2.0.12');
});

test('Lotus Domino: quoted address after "was not delivered to"', async () => {
  const p = await parse('notes-ndr.eml');
  assert.deepEqual(p.recipients.map((r) => r.recipient), ['paolo.rossi@notes.example']);
});

test("a list mail's To: is not the failed recipient", async () => {
  const p = await parse('list-to-header.eml');
  assert.equal(p.kind, 'bounce');
  assert.deepEqual(p.recipients.map((r) => r.recipient), [null]);
  assert.match(p.recipients[0].diagnostic ?? '', /Service unavailable/);
});

test('challenge-response requests are auto-replies, with the protected mailbox as recipient', async () => {
  const boxbe = await parse('challenge-boxbe.eml');
  assert.equal(boxbe.kind, 'auto-reply');
  assert.equal(boxbe.recipients[0].recipient, 'mila@inbox.example');
  assert.match(boxbe.recipients[0].diagnostic ?? '', /^challenge-response/);
  const verify = await parse('challenge-verify.eml');
  assert.equal(verify.kind, 'auto-reply');
  assert.match(verify.recipients[0].diagnostic ?? '', /^challenge-response \(wording\)/);
});

test('MDaemon transcript: "--> RCPT To:" then "<-- 550" gives the reply and the stage', async () => {
  const p = await parse('mdaemon-transcript.eml');
  assert.deepEqual(p.recipients.map((r) => [r.recipient, r.status, r.command, r.reply?.code]), [['lena@remote.example', '5.1.1', 'RCPT', 550]]);
});

test('GroupWise: the address on the line after "undeliverable to the following"', async () => {
  const p = await parse('groupwise-ndr.eml');
  assert.deepEqual(p.recipients.map((r) => r.recipient), ['maria.gomez@gw.example']);
  assert.match(p.recipients[0].diagnostic ?? '', /user not found/);
});
