/**
 * An input the fuzzer (npm run fuzz -- --target api-schemas) found, kept as a test (F3 of
 * docs/FUZZING.md): zod's length checks throw a TypeError on a value whose `length` cannot
 * become a number. The API answers 400 (test/security/hostile-values.test.ts); what calls
 * the schemas directly (createDelivery, updateDelivery) goes through parseInput, which
 * refuses it in words instead of throwing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliveryCreateSchema, deliveryUpdateSchema, parseInput } from './input.ts';
import { createDelivery } from './store.ts';
import { createTestDb } from '../db/testing.ts';

test('a body whose "length" cannot be compared is refused, not thrown on', async () => {
  // Shrunk input: {"body":{"ipPool":{"length":{"toString":""}}}}
  const body = JSON.parse('{"ipPool":{"length":{"toString":""}}}') as unknown;
  for (const schema of [deliveryCreateSchema, deliveryUpdateSchema]) {
    const r = parseInput(schema, body);
    assert.equal(r.success, false);
    assert.match(!r.success ? r.message : '', /wrong type/);
  }
  const { db, cleanup } = await createTestDb();
  try {
    await assert.rejects(createDelivery(db, body as never, { defaultValidityMs: 3_600_000, maxValidityMs: 86_400_000 }), (err: Error & { code?: string }) => err.code === 'INVALID_INPUT');
  } finally {
    await cleanup();
  }
});
