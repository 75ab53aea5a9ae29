/**
 * The content checks of the delivery analysis, line by line: what each warns about, and that
 * a clean delivery gets none of those lines. Only the checks whose lines are asserted here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSubjectAndSender, type CheckedDelivery } from './checks.ts';
import { ReportLines } from './report.ts';

const delivery = (over: Partial<CheckedDelivery>): CheckedDelivery => ({ subject: 'Our news', fromAddress: 'news@shop.test', fromName: 'Shop', html: null, text: 'Hi {{ unsubscribeUrl }}', validityMs: 86_400_000, ...over });
const codes = (d: CheckedDelivery) => {
  const out = new ReportLines();
  checkSubjectAndSender(d, out);
  return out.lines.map((l) => `${l.level} ${l.code}`);
};

test('a line break in the From name is a warning: it is sent as a space', () => {
  for (const name of ['Shop\nNews', 'Shop\r\nNews', 'Shop\rNews']) {
    assert.ok(codes(delivery({ fromName: name })).includes('warning sender-name-line-break'), JSON.stringify(name));
  }
  const out = new ReportLines();
  checkSubjectAndSender(delivery({ fromName: 'Shop\nNews' }), out);
  assert.match(out.lines.find((l) => l.code === 'sender-name-line-break')!.message, /sender name \(From\) contains a line break.*space/);
});

test('a line break in the subject is a warning; one inside a personalization tag is not', () => {
  assert.ok(codes(delivery({ subject: 'Our\nnews' })).includes('warning subject-line-break'));
  assert.ok(codes(delivery({ subject: 'Our\r\nnews' })).includes('warning subject-line-break'));
  assert.ok(!codes(delivery({ subject: 'Hi {{\n firstName }}' })).includes('warning subject-line-break'));
});

test('a subject and a From name without line breaks get no line-break warning', () => {
  assert.deepEqual(codes(delivery({})), []);
  assert.deepEqual(codes(delivery({ fromName: undefined })), []);
});
