import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { parseSmtpReply } from '../mail/smtp-reply.ts';
import { BOUNCE_CATEGORIES } from '../mail/failure.ts';
import { classifyReply, loadBouncePolicy, normalizeFailureText, retryDelayMs } from './index.ts';

const data = (name: string) => fileURLToPath(new URL(`./testdata/${name}`, import.meta.url));

test('the shipped policy loads and covers every category', () => {
  const policy = loadBouncePolicy();
  assert.ok(policy.rules.length > 20);
  for (const c of BOUNCE_CATEGORIES) assert.ok(policy.categories[c], c);
  assert.equal(policy.categories['user-unknown'].type, 'Hard');
  assert.equal(policy.categories['auto-reply'].disposition, 'ignore');
});

test('operator rules come first, can override a type, and can disable a shipped rule', () => {
  const policy = loadBouncePolicy({ rulesFiles: [data('operator-rules.yaml')] });
  const q = classifyReply(parseSmtpReply('550 5.2.1 Recipient suspended by ACME'), policy);
  assert.equal(q.ruleId, 'acme-suspended');
  assert.equal(q.category, 'inactive-mailbox');
  assert.equal(q.failureType, 'Hard');
  assert.equal(q.disposition, 'fail-quarantine', 'a Hard override quarantines');
  const yahoo = classifyReply(parseSmtpReply('421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred'), policy);
  assert.notEqual(yahoo.ruleId, 'yahoo-deferral');
  const bare = classifyReply(parseSmtpReply('550 Requested action not taken: mailbox unavailable'), policy);
  assert.equal(bare.ruleId, 'acme-bare-unavailable', 'status none: no enhanced status');
  const coded = classifyReply(parseSmtpReply('550 5.1.1 Requested action not taken: mailbox unavailable'), policy);
  assert.notEqual(coded.ruleId, 'acme-bare-unavailable', 'status none does not match a reply with a status');
});

test('operator categories override single fields and keep the others', () => {
  const policy = loadBouncePolicy({ categoriesFiles: [data('operator-categories.yaml')] });
  assert.deepEqual(policy.categories['mailbox-full'].retry, { initialMs: 2 * 3_600_000, factor: 3, maxMs: 86_400_000 });
  assert.equal(policy.categories['mailbox-full'].reason, 'Mailbox full');
  assert.equal(policy.categories['spam-block'].disposition, 'fail');
  assert.equal(retryDelayMs(policy, 'mailbox-full', 1), 2 * 3_600_000);
  assert.equal(retryDelayMs(policy, 'mailbox-full', 2), 6 * 3_600_000);
  assert.equal(retryDelayMs(policy, 'mailbox-full', 10), 86_400_000, 'capped at max');
  assert.equal(retryDelayMs(policy, 'user-unknown', 1), null);
});

function loadError(options: Parameters<typeof loadBouncePolicy>[0]): string {
  try {
    loadBouncePolicy(options);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected loadBouncePolicy to throw');
}

test('validation errors name the file, the rule and what to fix', () => {
  const category = loadError({ rulesFiles: [data('bad-category.yaml')] });
  assert.match(category, /bad-category\.yaml: rule #2 \(id typo-category\)/);
  assert.match(category, /category: must be one of: .*mailbox-full/);

  const regex = loadError({ rulesFiles: [data('bad-regex.yaml')] });
  assert.match(regex, /bad-regex\.yaml: rule #1 \(id unbalanced\): text: invalid regular expression/);

  assert.match(loadError({ rulesFiles: [data('no-condition.yaml')] }), /rule #1 \(id empty\): the rule has no condition/);
  assert.match(loadError({ rulesFiles: [data('unknown-field.yaml')] }), /unknown field\(s\) texts/);
  assert.match(loadError({ categoriesFiles: [data('bad-categories.yaml')] }), /category user-unknown: a Hard failure is never retried/);
  assert.match(loadError({ rulesFiles: [data('missing.yaml')] }), /missing\.yaml: cannot read the file/);
});

test('normalizeFailureText: one key for the same failure of different recipients', () => {
  assert.equal(
    normalizeFailureText('550 5.1.1 <a@x.com> user unknown'),
    normalizeFailureText('550 5.1.1 <b@y.org> user unknown'),
  );
  assert.equal(normalizeFailureText('550 5.1.1 <a@x.com>   user\n unknown'), '550 5.1.1 <*> user unknown');
  const a = normalizeFailureText('421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred - 4.16.55.1 at 2024-05-14T10:02:11Z id 1s6pQe-0003kT-2x');
  const b = normalizeFailureText('421 4.7.0 [TSS04] Messages from 198.51.100.7 temporarily deferred - 4.16.55.1 at 2024-06-01T08:00:00Z id 1s9zzz-0004aa-7Q');
  assert.equal(a, b);
  assert.match(a, /^421 4\.7\.0 \[TSS04\] Messages from #xxx# temporarily deferred/);
  assert.notEqual(normalizeFailureText('550 5.1.1 user unknown'), normalizeFailureText('552 5.2.2 mailbox full'));
});
