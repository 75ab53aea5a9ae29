import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate, missingFields } from './template.ts';

test('renders fields and escapes HTML in HTML content only', () => {
  const html = compileTemplate('html', '<p>Hello {{ firstName }}</p>');
  assert.equal(html.render({ firstName: '<script>x</script>' }), '<p>Hello &lt;script&gt;x&lt;/script&gt;</p>');
  const text = compileTemplate('text', 'Hello {{ firstName }}');
  assert.equal(text.render({ firstName: 'Ana & Bo' }), 'Hello Ana & Bo');
});

test('a field printed without default is required; defaults and conditions are optional', () => {
  const t = compileTemplate('html', 'Hi {{ firstName }} {{ city | default: "friend" }} {% if vip %}VIP {{ vipCode }}{% endif %} {{ address.zip }}');
  assert.deepEqual(t.required.map((p) => p.join('.')).sort(), ['address.zip', 'firstName', 'vipCode']);
  assert.deepEqual(missingFields(t, { firstName: 'Ana', vipCode: 'A', address: { zip: '1000' } }), []);
  assert.deepEqual(missingFields(t, { firstName: '', address: {} }), ['firstName', 'vipCode', 'address.zip']);
  assert.equal(t.render({ firstName: 'Ana', address: { zip: 1 } }).replace(/\s+/g, ' '), 'Hi Ana friend 1');
});

test('templates cannot reach code or prototypes and loops are bounded', () => {
  const t = compileTemplate('text', '{{ a.constructor }}|{{ a.__proto__ }}');
  assert.equal(t.render({ a: {} }), '|');
  const loop = compileTemplate('text', '{% for i in (1..100000000) %}x{% endfor %}');
  assert.throws(() => loop.render({}), /limit/);
});

test('a syntax error names the part and the position', () => {
  assert.throws(() => compileTemplate('subject', 'Hello {{ firstName '), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'INVALID_INPUT');
    assert.match(err.message, /subject template has a syntax error: .*not closed, line:1/);
    return true;
  });
});

test('templates cannot read files: include, render and layout are refused, naming the tag', () => {
  for (const source of [
    "{% include 'estafeta.yaml' %}",
    '{% include "/etc/passwd" %}',
    "{% render 'package.json' %}",
    "{% layout 'estafeta.yaml' %}x",
    "{% liquid\n include 'estafeta.yaml' %}",
    "{% if true %}{% include 'estafeta.yaml' %}{% endif %}",
    "{%- include 'estafeta.yaml' -%}",
    "{% include estafeta %}",
  ]) {
    const tag = /(include|render|layout)/.exec(source)![1];
    for (const kind of ['subject', 'html', 'text'] as const) {
      assert.throws(() => compileTemplate(kind, source), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'INVALID_INPUT', source);
        assert.match(err.message, new RegExp(`the \\{% ${tag} %\\} tag is not allowed`), source);
        return true;
      });
    }
  }
});

test('no tag or filter reaches the environment or the process', () => {
  const t = compileTemplate('text', '{{ process }}|{{ env }}|{{ global }}|{{ a | json }}|{{ "x" | append: process.env.HOME }}|{% assign p = process %}{{ p.env }}|{{ constructor.constructor }}|{{ a.constructor.name }}');
  assert.equal(t.render({ a: { b: 1 } }), '|||{"b":1}|x|||');
});
