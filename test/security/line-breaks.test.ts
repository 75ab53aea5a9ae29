/**
 * A low finding of the security review: a line break in the From name (or the subject) was
 * turned into a space when the message was built, and the analysis said nothing. The
 * analysis of a delivery with such a name and subject must warn about both; one without
 * them gets neither warning.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEstafeta, type TestEstafeta } from '../helpers/estafeta.ts';

let e: TestEstafeta;
before(async () => {
  e = await startTestEstafeta();
});
after(async () => {
  await e.stop();
});

async function analysisCodes(from: { name: string; address: string }, subject: string): Promise<string[]> {
  const created = await e.api('POST', '/deliveries', { from, subject, text: 'Hi {{ unsubscribeUrl }}', recipients: [{ email: 'ana@example.org' }] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const report = await e.api('POST', `/deliveries/${created.body.id}/analyze`);
  assert.equal(report.status, 200, JSON.stringify(report.body));
  return report.body.lines.map((l: { level: string; code: string }) => `${l.level} ${l.code}`);
}

test('a line break in the From name or the subject is an analysis warning', async () => {
  const codes = await analysisCodes({ name: 'Shop\r\nNews', address: 'news@shop.test' }, 'Our\nnews');
  assert.ok(codes.includes('warning sender-name-line-break'), codes.join(', '));
  assert.ok(codes.includes('warning subject-line-break'), codes.join(', '));
});

test('a From name and a subject on one line get no line-break warning', async () => {
  const codes = await analysisCodes({ name: 'Shop News', address: 'news@shop.test' }, 'Our news');
  assert.ok(!codes.some((c) => c.endsWith('line-break')), codes.join(', '));
});
