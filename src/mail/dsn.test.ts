import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFeedbackReport } from './arf.ts';
import { normalizeAddress } from './addresses-in-text.ts';
import { parseDeliveryStatus } from './dsn.ts';
import { findReplyInText, findSmtpStage, findStatusCode } from './reply-text.ts';
import { splitReturnedMessage } from './returned-message.ts';

test('DSN fields: folded Diagnostic-Code, typed values stripped, two recipient blocks', () => {
  const r = parseDeliveryStatus(
    [
      'Reporting-MTA: dns; mta.example',
      'Original-Envelope-Id: env-1',
      '',
      'Final-Recipient: rfc822; a@example.com',
      'Action: failed',
      'Status: 5.1.1 (bad destination mailbox address)',
      'Diagnostic-Code: smtp; 550 5.1.1 <a@example.com>:',
      '    user unknown',
      '',
      'Final-Recipient: RFC822; <b@Example.NET>',
      'Action: delayed',
      'Status: 4.4.1',
    ].join('\r\n'),
  );
  assert.equal(r.reportingMta, 'mta.example');
  assert.equal(r.envelopeId, 'env-1');
  assert.equal(r.recipients.length, 2);
  assert.equal(r.recipients[0].diagnostic, '550 5.1.1 <a@example.com>: user unknown');
  assert.equal(r.recipients[0].status, '5.1.1');
  assert.equal(r.recipients[1].finalRecipient, 'b@example.net');
  assert.equal(r.recipients[1].action, 'delayed');
});

test('DSN recipients without a blank line between them are still split', () => {
  const r = parseDeliveryStatus(
    ['Final-Recipient: rfc822; a@example.com', 'Action: failed', 'Status: 5.1.1', 'Final-Recipient: rfc822; b@example.com', 'Action: failed', 'Status: 5.2.2'].join('\n'),
  );
  assert.deepEqual(r.recipients.map((x) => [x.finalRecipient, x.status]), [['a@example.com', '5.1.1'], ['b@example.com', '5.2.2']]);
});

test('DSN Action spellings map to RFC 3464 actions', () => {
  const r = parseDeliveryStatus('Final-Recipient: rfc822; a@example.com\nAction: deliverable\nStatus: 2.1.5\n');
  assert.equal(r.recipients[0].action, 'delivered');
});

test('ARF fields: type lower-cased, several Original-Rcpt-To kept in order', () => {
  const f = parseFeedbackReport('Feedback-Type: Abuse\nOriginal-Rcpt-To: <x@example.com>\nOriginal-Rcpt-To: y@example.com\nSource-IP: 192.0.2.1\n');
  assert.equal(f.feedbackType, 'abuse');
  assert.deepEqual(f.originalRecipients, ['x@example.com', 'y@example.com']);
  assert.equal(f.sourceIp, '192.0.2.1');
});

test('addresses: prefixes, brackets and quoted local parts', () => {
  assert.equal(normalizeAddress('rfc822; <Ana@EXAMPLE.com>'), 'Ana@example.com');
  assert.equal(normalizeAddress('mailto:bob@example.org'), 'bob@example.org');
  assert.equal(normalizeAddress('"odd..name"@example.org'), '"odd..name"@example.org');
  assert.equal(normalizeAddress('not an address'), null);
});

test('status codes inside IP addresses are not status codes', () => {
  assert.equal(findStatusCode('host 10.5.1.1 said: no'), null);
  assert.equal(findStatusCode('host [10.5.1.1] said: 550 5.7.1 denied'), '5.7.1');
  assert.equal(findStatusCode('Sorry (#5.1.1)'), '5.1.1');
});

test('reply in text: the failure is preferred over earlier successes of a transcript', () => {
  const reply = findReplyInText('Out: 250 2.1.5 Ok\nIn: DATA\nOut: 451 4.3.0 Error: queue file write error\n');
  assert.equal(reply?.code, 451);
  assert.equal(reply?.enhanced, '4.3.0');
  assert.equal(findReplyInText('Size (in bytes): 222\n'), null, 'a bare number is not a reply');
});

test('multi-line replies are joined', () => {
  const reply = findReplyInText('remote said: 550-5.7.26 Unauthenticated mail\n550-5.7.26 is not accepted\n550 5.7.26 see help');
  assert.equal(reply?.code, 550);
  assert.equal(reply?.text, 'Unauthenticated mail is not accepted see help');
});

test('SMTP stage phrases of several MTAs', () => {
  assert.equal(findSmtpStage('550 user unknown (in reply to RCPT TO command)'), 'RCPT');
  assert.equal(findSmtpStage('SMTP error from remote mail server after end of data:'), 'DATA');
  assert.equal(findSmtpStage('>>> MAIL From:<a@b.example>\n<<< 553 sender rejected'), 'MAIL');
  assert.equal(findSmtpStage('Connected to 192.0.2.1 but sender was rejected.'), 'MAIL');
  assert.equal(findSmtpStage('no stage here'), null);
});

test('SMTP stage: wrapped Postfix lines, qmail "most progress", Yahoo "[RCPT_TO]"', () => {
  assert.equal(findSmtpStage('<a@b.example>: User unknown (in reply to\n    RCPT TO command)'), 'RCPT');
  assert.equal(findSmtpStage('said: 550 5.7.1 Rejected (in reply to end of\n    DATA command)'), 'DATA');
  assert.equal(
    findSmtpStage('Sorry, no SMTP connection got far enough; most progress was RCPT TO response; remote host 192.0.2.3 said: 550 no'),
    'RCPT',
  );
  assert.equal(findSmtpStage('Remote host said: 550 5.2.1 <a@b.example>... User Unknown [RCPT_TO]'), 'RCPT');
});

test('a reply whose text Postfix wrapped to the next line after "said:" is still a reply', () => {
  const reply = findReplyInText('<a@b.example>: host mx.b.example[192.0.2.7] said: 550\n    <a@b.example>: User unknown\n');
  assert.equal(reply?.code, 550);
  assert.equal(reply?.enhanced, null);
  assert.equal(reply?.text, '<a@b.example>: User unknown');
  assert.equal(findReplyInText('Size (in bytes): 222\nLines: 12\n'), null, 'a number ending a line is not a reply without "said:"');
});

test('the returned original is split off the notice', () => {
  const s = splitReturnedMessage(
    'Delivery failed for a@example.com.\n\n--- Below this line is a copy of the message.\n\nMessage-ID: <m1@example.com>\nX-Estafeta-Log: abc\nTo: a@example.com\n\nbody\n',
  );
  assert.equal(s.notice.trim(), 'Delivery failed for a@example.com.');
  assert.equal(s.originalHeaders?.get('message-id')?.[0], '<m1@example.com>');
  assert.equal(s.originalHeaders?.get('x-estafeta-log')?.[0], 'abc');
});
