/**
 * Bad input through the HTTP API: each gets a clear error and nothing is half-written.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEstafeta, type TestEstafeta } from './helpers/estafeta.ts';

let e: TestEstafeta;
before(async () => {
  e = await startTestEstafeta({ roles: ['api'] });
});
after(async () => e.stop());

const valid = { from: { name: 'Shop', address: 'news@shop.example' }, subject: 'Hi {{ firstName }}', html: '<p>Hi {{ firstName }} <a href="{{ unsubscribeUrl }}">unsubscribe</a></p>' };
const countDeliveries = async () => Number((await e.app.db.kysely.selectFrom('deliveries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n);

test('a body missing fields is refused with the fields named', async () => {
  const r = await e.api('POST', '/deliveries', { subject: 'x' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'INVALID_INPUT');
  assert.match(r.body.error.message, /from/);
  const noContent = await e.api('POST', '/deliveries', { from: valid.from, subject: 'x' });
  assert.equal(noContent.status, 400);
  assert.match(noContent.body.error.message, /give HTML content, text content, or both/);
  const badSender = await e.api('POST', '/deliveries', { ...valid, from: { address: 'not an address' } });
  assert.equal(badSender.status, 400);
  assert.match(badSender.body.error.message, /from\.address: "not an address" is not a valid email address/);
  assert.equal(await countDeliveries(), 0);
});

test('a template with a syntax error is refused and names the part and position', async () => {
  const r = await e.api('POST', '/deliveries', { ...valid, html: '<p>Hi {{ firstName </p>' });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /html template has a syntax error: .*line:1/);
  const s = await e.api('POST', '/deliveries', { ...valid, subject: 'Hi {% if %}' });
  assert.equal(s.status, 400);
  assert.match(s.body.error.message, /subject template has a syntax error/);
  assert.equal(await countDeliveries(), 0);
});

test('a CSV with broken rows is refused with the row numbers and imports nothing', async () => {
  const created = await e.api('POST', '/deliveries', { ...valid, recipients: [{ email: 'a@x.test', firstName: 'A' }] });
  assert.equal(created.status, 201);
  const id = created.body.id;
  const csv = 'email,firstName\nb@x.test,B\nc@x.test,C,extra\n"d@x.test,D\n';
  const r = await e.api('PUT', `/deliveries/${id}/recipients`, csv, 'text/csv');
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /nothing was imported: Quote Not Closed/);
  const extra = await e.api('PUT', `/deliveries/${id}/recipients`, 'email,firstName\nb@x.test,B\nc@x.test,C,extra\n', 'text/csv');
  assert.equal(extra.status, 400);
  assert.match(extra.body.error.message, /1 broken row\(s\); nothing was imported:\n  row 3: 3 fields where the header has 2/);
  const noEmail = await e.api('PUT', `/deliveries/${id}/recipients`, 'name,city\nA,B\n', 'text/csv');
  assert.equal(noEmail.status, 400);
  assert.match(noEmail.body.error.message, /no email column .*name, city/);
  const d = await e.api('GET', `/deliveries/${id}`);
  assert.equal(d.body.recipients, 1, 'the previous target is intact');
  // The same file given at creation creates no delivery at all.
  const before = await countDeliveries();
  const atCreate = await e.api('POST', '/deliveries', { ...valid, recipientsCsv: 'email,firstName\nb@x.test,B\nc@x.test,C,extra\n' });
  assert.equal(atCreate.status, 400);
  assert.match(atCreate.body.error.message, /row 3: 3 fields where the header has 2/);
  assert.equal(await countDeliveries(), before);
});

test('an unknown delivery id is a 404, an illegal transition a 409 saying what is allowed', async () => {
  for (const path of ['/deliveries/999999', '/deliveries/999999/kpis', '/deliveries/999999/logs', '/logs/999999']) {
    const r = await e.api('GET', path);
    assert.equal(r.status, 404, path);
    assert.match(r.body.error.message, /not found/);
  }
  assert.equal((await e.api('POST', '/deliveries/999999/confirm')).status, 404);
  const created = await e.api('POST', '/deliveries', valid);
  const r = await e.api('POST', `/deliveries/${created.body.id}/pause`);
  assert.equal(r.status, 409);
  assert.match(r.body.error.message, /cannot pause a delivery that is "Being edited"; from this state you can: edit, analyze/);
  const bad = await e.api('GET', `/deliveries/${created.body.id}/logs?status=delivered`);
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /status: unknown value "delivered"/);
});

test('a missing personalization field is an analysis error that blocks confirmation', async () => {
  const created = await e.api('POST', '/deliveries', { ...valid, recipients: [{ email: 'a@x.test', firstName: 'A' }, { email: 'b@x.test' }, { email: 'c@x.test', firstName: '' }] });
  const report = await e.api('POST', `/deliveries/${created.body.id}/analyze`);
  assert.equal(report.status, 200);
  const err = report.body.lines.find((l: { code: string }) => l.code === 'personalization-missing-field');
  assert.ok(err, JSON.stringify(report.body.lines));
  assert.equal(err.count, 2);
  assert.deepEqual(err.samples, ['b@x.test: firstName', 'c@x.test: firstName']);
  const confirm = await e.api('POST', `/deliveries/${created.body.id}/confirm`);
  assert.equal(confirm.status, 409);
  assert.match(confirm.body.error.message, /the analysis found 1 error/);
  // Fixing the content (a default) and analyzing again replaces the result.
  await e.api('PATCH', `/deliveries/${created.body.id}`, { subject: 'Hi {{ firstName | default: "there" }}', html: '<p>Hi {{ firstName | default: "there" }} <a href="{{ unsubscribeUrl }}">unsubscribe</a></p>' });
  const again = await e.api('POST', `/deliveries/${created.body.id}/analyze`);
  assert.equal(again.body.errors, 0);
  assert.equal(again.body.counts.toDeliver, 3);
  const logs = await e.api('GET', `/deliveries/${created.body.id}/logs`);
  assert.equal(logs.body.logs.length, 3);
  assert.ok(logs.body.logs.every((l: { status: string }) => l.status === 'pending'));
  assert.equal((await e.api('POST', `/deliveries/${created.body.id}/confirm`)).status, 200);
});
