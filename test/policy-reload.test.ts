/**
 * Policy files reload without restart: a running Estafeta picks up a changed operator
 * bounce-rules.yaml within a few seconds, and an invalid new version leaves the previous
 * policy in force. Real files in the policy directory, a real Estafeta, no restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fastRetryPolicyDir, startTestEstafeta } from './helpers/estafeta.ts';
import { classifyReply } from '../src/qualification/index.ts';
import { parseSmtpReply } from '../src/mail/smtp-reply.ts';

const REPLY = parseSmtpReply('550 5.7.1 refused by acme policy engine (ref 42)');
const RULE = (id: string, category: string) => `rules:\n  - id: ${id}\n    source: ACME runbook (test)\n    text: 'refused by acme policy engine'\n    category: ${category}\n`;

async function until(check: () => boolean, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) assert.fail(`not picked up within ${timeoutMs} ms`);
    await sleep(100);
  }
  return Date.now() - started;
}

test('a changed operator bounce-rules.yaml is picked up without restart; an invalid one keeps the previous rules', async (t) => {
  const dir = fastRetryPolicyDir();
  const e = await startTestEstafeta({ policy: { dir }, roles: ['api', 'inbound', 'feedback'] });
  t.after(() => e.stop());
  const ruleOf = () => classifyReply(REPLY, e.app.bouncePolicy).ruleId;
  assert.notEqual(ruleOf(), 'acme-refusal', 'no operator rule yet');

  writeFileSync(join(dir, 'bounce-rules.yaml'), RULE('acme-refusal', 'user-unknown'));
  const ms = await until(() => ruleOf() === 'acme-refusal');
  assert.equal(classifyReply(REPLY, e.app.bouncePolicy).category, 'user-unknown');
  console.log(`operator rule picked up ${ms} ms after the file was written`);

  // No source: the file is refused and the rule above stays in force.
  writeFileSync(join(dir, 'bounce-rules.yaml'), `rules:\n  - id: acme-broken\n    text: 'refused by acme policy engine'\n    category: spam-block\n`);
  await sleep(4_000);
  assert.equal(ruleOf(), 'acme-refusal', 'the previous policy stays in force');

  // Fixed again: the next valid version replaces it.
  writeFileSync(join(dir, 'bounce-rules.yaml'), RULE('acme-refusal-2', 'spam-block'));
  await until(() => ruleOf() === 'acme-refusal-2');
  assert.equal(classifyReply(REPLY, e.app.bouncePolicy).category, 'spam-block');
});
