import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Liquid } from 'liquidjs';
import { compileFast } from './fast-template.ts';

const liquid = { html: new Liquid({ outputEscape: 'escape', ownPropertyOnly: true }), text: new Liquid({ ownPropertyOnly: true }) };

const templates = [
  'Hello {{ firstName }}!',
  '<p>{{ firstName }} from {{ address.city }}</p><a href="{{ unsubscribeUrl }}">x</a>',
  'Hi {{ firstName | default: "there" }}, {{ city|default:\'your city\' }}.',
  '{{a}}{{b}}{{ c.d.e }}',
  'no fields at all <b>&</b>',
];
const data: Record<string, unknown>[] = [
  { firstName: 'Ana', address: { city: 'Lisboa' }, unsubscribeUrl: 'https://x/u?a=1&b=2', city: 'Porto', a: 1, b: true, c: { d: { e: 'deep' } } },
  { firstName: '<script>alert("x")</script>', address: {}, city: '', a: 0, b: false, c: null },
  { firstName: "O'Brien & Sons", city: [], a: [1, 'two', null], b: null },
  { firstName: 'Zoë 😀', city: 'São Paulo', a: 3.5, b: 'x' },
  {},
];

test('the fast path renders exactly what liquidjs renders', () => {
  for (const source of templates) {
    for (const kind of ['html', 'text'] as const) {
      const fast = compileFast(source, kind === 'html');
      assert.ok(fast, `${source} takes the fast path`);
      const parsed = liquid[kind].parse(source);
      for (const d of data) assert.equal(fast.render(d), liquid[kind].renderSync(parsed, d), `${kind}: ${source} with ${JSON.stringify(d)}`);
    }
  }
});

test('anything beyond fields and default goes to liquidjs', () => {
  for (const source of ['{% if vip %}VIP{% endif %}', '{{ name | upcase }}', '{{- name -}}', '{{ items.size }}', '{{ "literal" }}', '{{ a | default: b }}']) {
    assert.equal(compileFast(source, true), null, source);
  }
});

test('the fast path cannot reach prototypes', () => {
  const fast = compileFast('{{ a.constructor }}|{{ a.__proto__ }}|{{ toString }}', false)!;
  assert.equal(fast.render({ a: {} }), '||');
});
