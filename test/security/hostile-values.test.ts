/**
 * Found by the fuzzer (docs/FUZZING.md, F3): a JSON value whose `length` cannot become a
 * number made zod's length checks throw, and the API answered 500 "internal error", even to
 * a caller without credentials. Any request body a schema cannot read is a 400 in words.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEstafeta, type TestEstafeta } from '../helpers/estafeta.ts';

let e: TestEstafeta;
before(async () => {
  e = await startTestEstafeta({ roles: ['api'] });
});
after(async () => e.stop());

test('a value whose length cannot be compared is refused with 400, with or without credentials', async () => {
  const hostile = { length: { toString: '' } };
  const cases: [string | null, string, string, unknown][] = [
    [null, 'POST', '/auth/login', { name: { length: { toString: 1 } }, password: 'x' }],
    [e.adminKey, 'POST', '/deliveries', { label: hostile }],
    [e.adminKey, 'POST', '/deliveries', { ipPool: hostile }],
    [e.adminKey, 'PATCH', '/deliveries/1', { label: hostile }],
    [e.adminKey, 'POST', '/users', { name: hostile, password: 'long-password-1', role: 'viewer' }],
  ];
  for (const [key, method, path, body] of cases) {
    const r = await e.as(key)(method, path, body);
    assert.equal(r.status, 400, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'INVALID_INPUT');
  }
});
