import assert from 'node:assert/strict';
import { test } from 'node:test';
import { within } from './within.ts';

test('within says whether the promise settled before the limit', async () => {
  assert.equal(await within(Promise.resolve(), 1000), true);
  assert.equal(await within(Promise.reject(new Error('x')), 1000), true);
  assert.equal(await within(new Promise(() => {}), 20), false);
});

test('within leaves no timer behind to keep the process alive', async () => {
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  await within(Promise.resolve(), 60_000);
  const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  assert.equal(after, before);
});
