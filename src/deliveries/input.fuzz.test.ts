/**
 * An input the fuzzer (npm run fuzz -- --target api-schemas) found, kept as a test. The fix
 * belongs to the API and delivery-input owners (proposal in /work/notes/fuzz-findings.md,
 * F3): until it lands the test is marked todo, so it is reported without failing the suite.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliveryCreateSchema, deliveryUpdateSchema } from './input.ts';

test('a body whose "length" cannot be compared is refused, not thrown on', { todo: 'F3: zod length checks throw a TypeError' }, () => {
  // Shrunk input: {"body":{"ipPool":{"length":{"toString":""}}}}
  const body = JSON.parse('{"ipPool":{"length":{"toString":""}}}') as unknown;
  assert.equal(deliveryCreateSchema.safeParse(body).success, false);
  assert.equal(deliveryUpdateSchema.safeParse(body).success, false);
});
