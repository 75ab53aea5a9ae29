/**
 * Fuzz target: the template compiler and renderer (src/deliveries/template.ts) and its
 * fast path (src/deliveries/fast-template.ts). Templates are built from Liquid pieces
 * (outputs, filters, tags, whitespace control, file tags) and then broken; recipient data
 * mixes strings with HTML characters, numbers, booleans, null, arrays and nested objects.
 *
 * Invariants: compiling succeeds or throws INVALID_INPUT; rendering succeeds or throws a
 * LiquidError or liquidjs's limit error (the analysis reports those as personalization
 * errors); nothing ever reads a
 * file; the fields said to be required are paths of the template; and, differentially,
 * whenever the fast path accepts a template it renders exactly what liquidjs renders.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { AssertionError as LiquidLimitError, Liquid, LiquidError } from 'liquidjs';
import { compileFast } from '../../../src/deliveries/fast-template.ts';
import { compileTemplate, missingFields, type TemplateKind } from '../../../src/deliveries/template.ts';
import { EstafetaError } from '../../../src/lib/errors.ts';
import { jsonish, mutated, nastyString } from '../arbitraries.ts';
import type { FuzzTarget } from '../harness.ts';

// The engine options of template.ts (not exported there): the reference for the differential property.
const options = { ownPropertyOnly: true, strictFilters: true, parseLimit: 2_000_000, renderLimit: 2000, memoryLimit: 50_000_000, relativeReference: false, dynamicPartials: false };
const reference = { html: new Liquid({ ...options, outputEscape: 'escape' }), plain: new Liquid(options) };

const FIELDS = ['firstName', 'name', 'city', 'vip', 'items', 'address', 'count', 'price', 'empty', 'n', 'nested', 'html', 'size', 'length', 'first', 'toString', 'constructor', '__proto__'];
const fieldArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z_][\w-]{0,6}$/) });
const pathArb = fc.array(fieldArb, { minLength: 1, maxLength: 3 }).map((p) => p.join('.'));
const quoted = fc.oneof(nastyString(8).map((s) => `"${s.replace(/["\\{}]/g, '')}"`), nastyString(8).map((s) => `'${s.replace(/['\\{}]/g, '')}'`));
const sp = fc.constantFrom('', ' ', '  ', '\n');
const FILTERS = ['upcase', 'downcase', 'escape', 'size', 'strip', 'capitalize', 'first', 'last', 'join: ","', 'append: "!"', 'truncate: 5', 'date: "%Y"', 'plus: 1', 'times: 2', 'default: 0', 'split: ","', 'replace: "a", "b"', 'url_encode', 'json', 'nope', 'abs'];

const outputArb = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(sp, pathArb, sp).map(([a, p, b]) => `{{${a}${p}${b}}}`) },
  { weight: 3, arbitrary: fc.tuple(sp, pathArb, sp, quoted, sp).map(([a, p, b, q, c]) => `{{${a}${p}${b}|${b}default:${c}${q}${a}}}`) },
  { weight: 2, arbitrary: fc.tuple(pathArb, fc.array(fc.constantFrom(...FILTERS), { minLength: 1, maxLength: 3 })).map(([p, f]) => `{{ ${p} | ${f.join(' | ')} }}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('{{-', '{{'), pathArb, fc.constantFrom('-}}', '}}')).map(([a, p, b]) => `${a} ${p} ${b}`) },
  { weight: 1, arbitrary: quoted.map((q) => `{{ ${q} }}`) },
);
const tagArb = fc.oneof(
  fc.tuple(pathArb, fc.constantFrom('', ' == "x"', ' > 2', ' and vip', ' contains "a"')).map(([p, c]) => `{% if ${p}${c} %}`),
  fc.constantFrom('{% else %}', '{% endif %}', '{% endfor %}', '{% endunless %}', '{% endcase %}', '{% endcapture %}', '{% endraw %}', '{% endcomment %}', '{%- if vip -%}', '{% break %}', '{% continue %}', '{% cycle "a", "b" %}', '{% increment n %}', '{% tablerow i in items %}', '{% endtablerow %}', '{% liquid echo name %}', '{% echo name %}'),
  fc.tuple(fieldArb, pathArb, fc.constantFrom('', ' limit:2', ' reversed', ' offset:1')).map(([v, p, o]) => `{% for ${v} in ${p}${o} %}`),
  fc.tuple(pathArb).map(([p]) => `{% unless ${p} %}`),
  fc.tuple(pathArb, quoted).map(([p, q]) => `{% case ${p} %}{% when ${q} %}`),
  fc.tuple(fieldArb, pathArb).map(([v, p]) => `{% assign ${v} = ${p} | upcase %}`),
  fc.tuple(fieldArb).map(([v]) => `{% capture ${v} %}`),
  fc.constantFrom('{% raw %}', '{% comment %}', '{% # note %}'),
  fc.tuple(fc.constantFrom('include', 'render', 'layout'), fc.constantFrom("'estafeta.yaml'", '"/etc/passwd"', "'../../package.json'", 'name', "'x' with vip")).map(([t, f]) => `{% ${t} ${f} %}`),
);
const literalArb = fc.oneof({ weight: 4, arbitrary: nastyString(20) }, { weight: 1, arbitrary: fc.constantFrom('<b>', '&amp;', '{', '}', '{{', '}}', '{%', '%}', '{{{', '}}}', '{ {', '\r\n', 'Hello, ') });
const pieceArb = fc.oneof({ weight: 4, arbitrary: literalArb }, { weight: 4, arbitrary: outputArb }, { weight: 2, arbitrary: tagArb });
const templateArb = mutated(fc.array(pieceArb, { maxLength: 8 }).map((p) => p.join('')), fc.oneof(literalArb, outputArb, tagArb), 2);

/** Mostly templates the fast path accepts, so the differential property gets its share. */
const fastTemplateArb = fc.array(fc.oneof(literalArb.filter((s) => !s.includes('{')), outputArb), { maxLength: 8 }).map((p) => p.join(''));

const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: nastyString(12) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '<script>&"\'', '0', 'false', 'nil') },
  { weight: 2, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, 1e21, 1.5, -1, Number.MAX_SAFE_INTEGER + 2)) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: jsonish(2) },
);
// Recipient data reaches templates through JSON (API bodies, the target table), so it is
// made of plain JSON values: a JSON round trip keeps generated data to those.
const dataArb = fc.dictionary(fieldArb, valueArb, { maxKeys: 6 }).map((d) => JSON.parse(JSON.stringify(d)) as Record<string, unknown>);

interface Input {
  kind: TemplateKind;
  source: string;
  data: Record<string, unknown>;
}

function arbitrary(): fc.Arbitrary<Input> {
  return fc.record({
    kind: fc.constantFrom<TemplateKind>('subject', 'html', 'text'),
    source: fc.oneof({ weight: 3, arbitrary: templateArb }, { weight: 2, arbitrary: fastTemplateArb }),
    data: dataArb,
  });
}

function isFileError(err: unknown): boolean {
  return err instanceof Error && /cannot read files/.test(err.message) && !/tag is not allowed/.test(err.message);
}

function check(input: Input): void {
  let compiled;
  try {
    compiled = compileTemplate(input.kind, input.source);
  } catch (err) {
    assert.ok(err instanceof EstafetaError && err.code === 'INVALID_INPUT', `compile threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    return;
  }
  for (const path of compiled.required) assert.ok(path.length > 0 && path.every((k) => typeof k === 'string' && k !== ''), `required path ${JSON.stringify(path)}`);
  const missing = missingFields(compiled, input.data);
  assert.ok(missing.every((m) => typeof m === 'string'));
  const escape = input.kind === 'html';
  const fast = compileFast(input.source, escape);
  let rendered: string | null = null;
  try {
    rendered = compiled.render(input.data);
  } catch (err) {
    assert.ok(!isFileError(err), `a template reached the file system: ${(err as Error).message}`);
    // liquidjs reports its render and memory limits with its own AssertionError.
    assert.ok(err instanceof LiquidError || err instanceof LiquidLimitError, `render threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
  if (rendered !== null) assert.equal(typeof rendered, 'string');

  if (!fast) return;
  const engine = escape ? reference.html : reference.plain;
  let expected: string | null = null;
  let refused: Error | null = null;
  try {
    engine.parse(input.source);
  } catch (err) {
    assert.fail(`the fast path accepts a template liquidjs refuses (${(err as Error).message})`);
  }
  try {
    expected = engine.parseAndRenderSync(input.source, input.data) as string;
  } catch (err) {
    refused = err as Error;
  }
  let got: string | null = null;
  try {
    got = fast.render(input.data);
  } catch (err) {
    assert.ok(refused, `the fast path threw where liquidjs renders: ${(err as Error).message}`);
    return;
  }
  assert.ok(!refused || refused instanceof LiquidLimitError, `the fast path renders where liquidjs throws ${refused?.message}`);
  if (refused) return;
  assert.equal(got, expected, 'the fast path renders what liquidjs renders');
}

export const templateTarget: FuzzTarget<Input> = {
  name: 'template',
  description: 'template compiler, renderer and fast path vs liquidjs (src/deliveries/template.ts, fast-template.ts)',
  arbitrary,
  async: false,
  check,
};
