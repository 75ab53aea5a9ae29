/**
 * Fuzz target: the HTTP API's request validation, called directly: the delivery create and
 * update schemas (src/deliveries/input.ts), the id parameter (src/api/schemas.ts) and the
 * response schemas the serializer applies. Bodies are JSON values shaped like a delivery,
 * with fields of the wrong type, boundary lengths, line breaks in header names and values,
 * and keys that attack objects.
 *
 * Invariants: safeParse never throws; Object.prototype is untouched; a body that passes
 * has a subject of 1-998 characters, some content, a sender, header names a header line
 * can carry (printable ASCII, no ":") and values without line breaks, and no extra header
 * that changes the recipients; an id that passes is a positive safe integer.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { z } from 'zod';
import * as responseSchemas from '../../../src/api/schemas.ts';
import { deliveryCreateSchema, deliveryUpdateSchema } from '../../../src/deliveries/input.ts';
import { dangerousKey, hasUnprintableObject, jsonish, nastyString } from '../arbitraries.ts';
import type { FuzzTarget } from '../harness.ts';
import { known } from '../known.ts';

const { idParams, ...responses } = responseSchemas;
const RESPONSES = Object.entries(responses as Record<string, unknown>).filter((e): e is [string, z.ZodType] => e[1] instanceof z.ZodType);

const stringish = fc.oneof(
  { weight: 3, arbitrary: nastyString(20) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'a'.repeat(998), 'a'.repeat(999), ' '.repeat(300), 'x@y.example', '  news@shop.example  ', '3.5d', '36h', '-1', '0', '1e400') },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 1100 }).map((n) => 'é'.repeat(n)) },
);
const anyValue = fc.oneof({ weight: 3, arbitrary: stringish }, { weight: 1, arbitrary: jsonish(2) });
const headerName = fc.oneof(
  fc.constantFrom('X-Campaign', 'X-A: b\r\nBcc: x@evil.test\r\nX-C', 'Bcc', 'bcc', 'To', 'CC', 'Content-Type', 'X-Estafeta-Log', 'Subject', 'X A', 'X:A', 'X\nA', '', 'é', '__proto__'),
  fc.stringMatching(/^[!-9;-~]{1,12}$/),
  nastyString(10),
);
const headerValue = fc.oneof(fc.constantFrom('v', 'v\r\nBcc: x@evil.test', 'a\nb', 'a\rb', '\t', 'ok\u2028no'), nastyString(20));
const headersArb = fc.oneof(fc.dictionary(headerName, headerValue, { maxKeys: 4 }), jsonish(1));

function field<T>(arb: fc.Arbitrary<T>) {
  return fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: anyValue });
}

/** A JSON body shaped like a delivery, with wrong types and hostile values mixed in. */
export const bodyArb = fc.record(
  {
    label: field(stringish),
    from: field(fc.record({ name: field(stringish), address: field(stringish) }, { requiredKeys: [] })),
    replyTo: field(fc.option(stringish)),
    subject: field(stringish),
    html: field(fc.option(stringish)),
    text: field(fc.option(stringish)),
    validity: field(fc.oneof(stringish, fc.double(), fc.integer())),
    headers: field(headersArb),
    unsubscribeUrl: field(fc.option(stringish)),
    recipients: field(fc.array(fc.dictionary(fc.oneof(dangerousKey, fc.string({ maxLength: 6 })), anyValue, { maxKeys: 3 }), { maxLength: 3 })),
    ipPool: field(fc.option(stringish)),
    recipientsCsv: field(stringish),
    [Symbol.for('extra')]: fc.constant(0),
  },
  { requiredKeys: [] },
);

interface Input {
  body: unknown;
  id: unknown;
  response: number;
  responseValue: unknown;
}

function arbitrary(): fc.Arbitrary<Input> {
  return fc.record({
    // Bodies arrive as JSON: a round trip gives the objects JSON.parse makes (own "__proto__" keys included).
    body: fc.oneof({ weight: 9, arbitrary: bodyArb }, { weight: 1, arbitrary: jsonish(3) }).map((b) => JSON.parse(JSON.stringify(b) ?? 'null') as unknown),
    id: fc.oneof(stringish, fc.constantFrom('1', '01', '1.0', '1e3', ' 7 ', '0x10', '9007199254740993', '-1', 'Infinity', 'NaN', '', '[]'), fc.integer(), fc.double()),
    response: fc.nat(RESPONSES.length - 1),
    responseValue: jsonish(3),
  });
}

const RECIPIENT_HEADERS = /^(?:to|cc|bcc|resent-.*)$/i;

function checkHeaders(headers: Record<string, string> | undefined, which: string): void {
  for (const [name, value] of Object.entries(headers ?? {})) {
    const bad = !/^[!-9;-~]+$/.test(name) || /[\r\n]/.test(value) || RECIPIENT_HEADERS.test(name);
    if (!bad) continue;
    // Issue 11 finding 3: the update schema did not check header names.
    if (which === 'update' || RECIPIENT_HEADERS.test(name) || /[\r\n]/.test(value)) known(`finding-3: the ${which} schema accepts a header that adds a line or a recipient`);
    else assert.fail(`the ${which} schema accepted the header ${JSON.stringify(name)}: ${JSON.stringify(value)}`);
  }
}

// F3: zod itself throws on such a value; the API answers 400 (1e45409) and createDelivery and
// updateDelivery go through parseInput, which refuses it: here the schemas are called bare.
const F3 = 'F3 zod: a string length check on an object whose "length" cannot be compared throws (safeParse throws TypeError)';

/** safeParse, with the known F3 exception counted instead of failing. */
function safeParse<T extends z.ZodType>(schema: T, value: unknown): ReturnType<T['safeParse']> | null {
  try {
    return schema.safeParse(value) as ReturnType<T['safeParse']>;
  } catch (err) {
    if (err instanceof TypeError && hasUnprintableObject(value)) {
      known(F3);
      return null;
    }
    throw err;
  }
}

function check(input: Input): void {
  const created = safeParse(deliveryCreateSchema, input.body);
  if (!created) return;
  if (created.success) {
    const d = created.data;
    assert.ok(d.subject.length >= 1 && d.subject.length <= 998, 'subject length');
    assert.ok(Boolean(d.html?.trim() || d.text?.trim()), 'some content');
    assert.ok(d.from.address.length >= 3 && d.from.address === d.from.address.trim(), 'sender address');
    assert.ok(!(d.recipients && d.recipientsCsv), 'recipients or recipientsCsv');
    assert.ok(d.label === undefined || d.label.length <= 200, 'label length');
    assert.ok(d.validity === undefined || (typeof d.validity === 'string' ? d.validity.length > 0 : d.validity > 0), 'validity');
    checkHeaders(d.headers, 'create');
  } else {
    assert.ok(created.error.issues.length > 0 && created.error.issues.every((i) => typeof i.message === 'string' && i.message !== ''), 'an error names its problems');
  }
  const updated = safeParse(deliveryUpdateSchema, input.body);
  if (updated?.success) {
    const d = updated.data;
    assert.ok(d.subject === undefined || (d.subject.length >= 1 && d.subject.length <= 998), 'subject length');
    assert.ok(d.ipPool === undefined || d.ipPool === null || (d.ipPool.length >= 1 && d.ipPool.length <= 100), 'ipPool length');
    checkHeaders(d.headers, 'update');
  }
  const id = idParams.safeParse({ id: input.id });
  if (id.success) assert.ok(Number.isSafeInteger(id.data.id) && id.data.id > 0, `id ${id.data.id} from ${JSON.stringify(input.id)}`);
  const [, schema] = RESPONSES[input.response];
  schema.safeParse(input.responseValue);
  assert.equal(Object.keys(Object.prototype).length, 0, 'Object.prototype is untouched');
}

export const apiSchemasTarget: FuzzTarget<Input> = {
  name: 'api-schemas',
  description: 'request validation called directly (src/deliveries/input.ts, src/api/schemas.ts)',
  arbitrary,
  async: false,
  check,
};
