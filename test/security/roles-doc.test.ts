/**
 * A low finding of the security review: operators may suspend and throttle MTA sites, which
 * the README's roles did not say. The decision (it stays the operator's) is checked on the
 * running API, and the README's list of what each role may do must be the list the routes'
 * declared access gives (scripts/roles.ts), so the two cannot drift apart.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rolesMarkdown } from '../../scripts/roles.ts';
import { startTestEstafeta, type TestEstafeta } from '../helpers/estafeta.ts';
import { createApiKey } from '../../src/auth/index.ts';

let e: TestEstafeta;
before(async () => {
  e = await startTestEstafeta();
});
after(async () => {
  await e.stop();
});

test("the README's roles list is what the routes' access says", async () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = /<!-- roles:begin -->\n([\s\S]*?)\n<!-- roles:end -->/.exec(readme);
  assert.ok(block, 'README.md has no roles list between <!-- roles:begin --> and <!-- roles:end --> (section "Signing in")');
  assert.equal(block[1], await rolesMarkdown(), 'the README\'s roles list differs from the routes: paste the output of `npx tsx scripts/roles.ts`');
  assert.match(block[1], /\*\*operator\*\*[\s\S]*suspend or throttle a site \(`POST \/mta\/adaptations`\); cancel an adaptation \(`DELETE \/mta\/adaptations\/\{id\}`\)[\s\S]*\*\*admin\*\*/);
});

test('an operator may suspend and throttle an MX site and lift it; a viewer may not', async () => {
  const key = async (role: 'viewer' | 'operator') => (await createApiKey(e.app.db.kysely, { name: `${role}-key`, role, createdBy: 'test' })).key;
  const viewer = e.as(await key('viewer'));
  const operator = e.as(await key('operator'));
  const body = { site: 'mx.example.org', action: 'throttle', factor: 0.5, duration: '10m', reason: 'provider trouble' };
  const refused = await viewer('POST', '/mta/adaptations', body);
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.match(refused.body.error.message, /needs the operator or admin role/);
  const made = await operator('POST', '/mta/adaptations', body);
  assert.equal(made.status, 200, JSON.stringify(made.body));
  assert.equal((await viewer('DELETE', `/mta/adaptations/${made.body.id}`)).status, 403);
  const lifted = await operator('DELETE', `/mta/adaptations/${made.body.id}`);
  assert.ok(lifted.status < 300, JSON.stringify(lifted.body));
});
