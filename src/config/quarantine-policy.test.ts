import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layeredFiles, PolicyWatcher } from './policy-file.ts';
import { loadQuarantinePolicy } from './quarantine-policy.ts';

const H = 3_600_000;
const D = 24 * H;

function operatorDir(text?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'quarantine-policy-'));
  if (text !== undefined) writeFileSync(join(dir, 'quarantine.yaml'), text);
  return dir;
}

test('the shipped quarantine.yaml carries Campaign\'s defaults', () => {
  const p = loadQuarantinePolicy(layeredFiles('quarantine.yaml', null));
  assert.deepEqual(p.quarantine, { maxErrors: 5, significantErrorDelayMs: 24 * H, resetAfterMs: 10 * D, mailboxFullReleaseMs: 30 * D });
  assert.deepEqual(p.outageGuard, { windowMs: 10 * 60_000, minVolume: 50, minRate: 0.5, factor: 10, holdMs: 6 * H });
  assert.equal(p.files.length, 1);
});

test('an operator file overrides the keys it sets and keeps the others', () => {
  const dir = operatorDir('quarantine:\n  maxErrors: 3\noutageGuard:\n  hold: 2h\n');
  const p = loadQuarantinePolicy(layeredFiles('quarantine.yaml', dir));
  assert.equal(p.quarantine.maxErrors, 3);
  assert.equal(p.quarantine.resetAfterMs, 10 * D, 'kept from the shipped file');
  assert.equal(p.outageGuard.holdMs, 2 * H);
  assert.equal(p.outageGuard.minVolume, 50);
  assert.equal(p.files[0], join(dir, 'quarantine.yaml'), 'the operator file first');
});

test('an invalid operator file is refused with the file and the key named', () => {
  const dir = operatorDir('quarantine:\n  maxErrors: 0\n  resetAfter: soon\noutageGuard:\n  minRate: 2\n');
  const file = join(dir, 'quarantine.yaml');
  assert.throws(
    () => loadQuarantinePolicy(layeredFiles('quarantine.yaml', dir)),
    (err: Error) => {
      assert.ok(err.message.startsWith(`${file}: invalid policy`), err.message);
      assert.match(err.message, /quarantine\.maxErrors: /);
      assert.match(err.message, /quarantine\.resetAfter: /);
      assert.match(err.message, /outageGuard\.minRate: /);
      return true;
    },
  );
  assert.throws(() => loadQuarantinePolicy(layeredFiles('quarantine.yaml', operatorDir('quarantine:\n  maxErors: 3\n'))), /quarantine: Unrecognized key.*maxErors|maxErors/);
  assert.throws(() => loadQuarantinePolicy(layeredFiles('quarantine.yaml', operatorDir('quarantine: [1'))), /quarantine\.yaml: not valid YAML/);
});

test('a changed operator file is picked up by the watcher; an invalid one keeps the previous policy', async () => {
  const dir = operatorDir('quarantine:\n  maxErrors: 4\n');
  const errors: Error[] = [];
  const w = new PolicyWatcher('quarantine.yaml', dir, loadQuarantinePolicy, (e) => errors.push(e));
  assert.equal(w.value.quarantine.maxErrors, 4);
  writeFileSync(join(dir, 'quarantine.yaml'), 'quarantine:\n  maxErrors: 12\n');
  assert.equal(w.refresh(), true);
  assert.equal(w.value.quarantine.maxErrors, 12);
  writeFileSync(join(dir, 'quarantine.yaml'), 'quarantine:\n  maxErrors: -1   \n');
  assert.equal(w.refresh(), false);
  assert.equal(w.value.quarantine.maxErrors, 12, 'the previous policy stays in force');
  assert.match(errors[0]?.message ?? '', /quarantine\.maxErrors/);
});
