/**
 * Finding 2 of the security review: a delivery whose content was `{% include 'estafeta.yaml' %}`
 * passed analysis and mailed the configuration file (database URL, instance secret) to every
 * recipient. Creating or changing such content is refused, naming the tag, and content
 * already stored with it (from before the fix) fails its analysis instead of being sent.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEstafeta, type TestEstafeta } from '../helpers/estafeta.ts';

let e: TestEstafeta;
before(async () => {
  e = await startTestEstafeta({ roles: ['api'] });
});
after(async () => e.stop());

const valid = { from: { name: 'Shop', address: 'news@shop.example' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', recipients: [{ email: 'a@x.test' }] };

test('content that includes, renders or lays out a file is refused at creation and update', async () => {
  for (const [part, value] of [['text', "{% include 'estafeta.yaml' %} {{ unsubscribeUrl }}"], ['html', "<p>{% render '../../package.json' %}</p>"], ['subject', "{% layout 'estafeta.yaml' %}"]] as const) {
    const r = await e.api('POST', '/deliveries', { ...valid, [part]: value });
    assert.equal(r.status, 400, part);
    assert.match(r.body.error.message, /tag is not allowed: templates cannot read files/);
  }
  const created = await e.api('POST', '/deliveries', valid);
  assert.equal(created.status, 201);
  const patched = await e.api('PATCH', `/deliveries/${created.body.id}`, { text: "{% include 'estafeta.yaml' %}" });
  assert.equal(patched.status, 400);
  assert.match(patched.body.error.message, /the \{% include %\} tag is not allowed/);
});

test('content stored with a file tag fails the analysis with an error naming the tag, and cannot be confirmed', async () => {
  const created = await e.api('POST', '/deliveries', valid);
  const id = created.body.id;
  await e.app.db.kysely.updateTable('deliveries').set({ text: "Config: {% include 'estafeta.yaml' %} {{ unsubscribeUrl }}" }).where('id', '=', id).execute();
  const report = await e.api('POST', `/deliveries/${id}/analyze`);
  assert.equal(report.status, 200, JSON.stringify(report.body));
  const line = report.body.lines.find((l: { code: string }) => l.code === 'template-error');
  assert.ok(line, JSON.stringify(report.body.lines));
  assert.equal(line.level, 'error');
  assert.match(line.message, /the \{% include %\} tag is not allowed/);
  const confirm = await e.api('POST', `/deliveries/${id}/confirm`);
  assert.equal(confirm.status, 409);
});
