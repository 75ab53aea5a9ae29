/**
 * An input the fuzzer (npm run fuzz -- --target api-schemas) found, kept as a test (F3 of
 * docs/FUZZING.md). The API answers 400 since 1e45409 (test/security/hostile-values.test.ts);
 * the schemas themselves, as createDelivery and the CLI call them, still throw: marked todo,
 * so it is reported without failing the suite, until the delivery-input owner decides.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliveryCreateSchema, deliveryUpdateSchema } from './input.ts';

test('a body whose "length" cannot be compared is refused, not thrown on', { todo: 'F3: zod length checks throw a TypeError when the schemas are called directly' }, () => {
  // Shrunk input: {"body":{"ipPool":{"length":{"toString":""}}}}
  const body = JSON.parse('{"ipPool":{"length":{"toString":""}}}') as unknown;
  assert.equal(deliveryCreateSchema.safeParse(body).success, false);
  assert.equal(deliveryUpdateSchema.safeParse(body).success, false);
});
