import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextQuarantineEntry, type QuarantineEntry, type QuarantineFact } from './rules.ts';
import { QuarantineStatus } from './status.ts';
import { layeredFiles } from '../config/policy-file.ts';
import { loadQuarantinePolicy } from '../config/quarantine-policy.ts';

const policy = loadQuarantinePolicy(layeredFiles('quarantine.yaml', null)).quarantine;

const H = 3_600_000;
const soft = (at: number): QuarantineFact => ({ kind: 'error', at, failureType: 'Soft', failureReason: 'Mailbox full', quarantineNow: false, text: '452 4.2.2 full' });

function run(facts: QuarantineFact[], start: QuarantineEntry | null = null): QuarantineEntry | null {
  let e = start;
  for (const f of facts) e = nextQuarantineEntry(e, f, policy) ?? e;
  return e;
}

test('a hard error quarantines at once', () => {
  const e = run([{ kind: 'error', at: 0, failureType: 'Hard', failureReason: 'User unknown', quarantineNow: true, text: '550 5.1.1' }]);
  assert.equal(e?.status, QuarantineStatus.Quarantine);
  assert.equal(e?.failureReason, 'User unknown');
});

test('soft errors count once per 24 hours and quarantine at the fifth', () => {
  let e = run([soft(0), soft(1 * H), soft(5 * H)]);
  assert.equal(e?.status, QuarantineStatus.WithErrors);
  assert.equal(e?.errorCount, 1, 'errors within 24 h of the last significant one do not count');
  e = run([soft(24 * H), soft(48 * H), soft(72 * H)], e);
  assert.equal(e?.errorCount, 4);
  assert.equal(e?.status, QuarantineStatus.WithErrors);
  e = run([soft(96 * H)], e);
  assert.equal(e?.errorCount, 5);
  assert.equal(e?.status, QuarantineStatus.Quarantine);
});

test('the counter restarts after 10 days without error', () => {
  const e = run([soft(0), soft(25 * H), soft(25 * H + 11 * 24 * H)]);
  assert.equal(e?.errorCount, 1);
});

test('a success makes With errors Valid but never releases Quarantine or Denylisted', () => {
  assert.equal(run([soft(0), { kind: 'success', at: H }])?.status, QuarantineStatus.Valid);
  const q = run([{ kind: 'error', at: 0, failureType: 'Hard', failureReason: 'User unknown', quarantineNow: true, text: 'x' }, { kind: 'success', at: H }]);
  assert.equal(q?.status, QuarantineStatus.Quarantine);
  const d = run([{ kind: 'complaint', at: 0, text: 'abuse' }, { kind: 'success', at: H }, soft(2 * H)]);
  assert.equal(d?.status, QuarantineStatus.Denylisted);
});

test('ignored errors (auto-replies) never quarantine', () => {
  assert.equal(nextQuarantineEntry(null, { kind: 'error', at: 0, failureType: 'Ignored', failureReason: 'Unreachable', quarantineNow: false, text: 'out of office' }, policy), null);
});
