import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layeredFiles } from './policy-file.ts';
import { loadCompliancePolicy } from './compliance-policy.ts';

function operatorDir(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'compliance-policy-'));
  writeFileSync(join(dir, 'compliance.yaml'), text);
  return dir;
}

test("the shipped compliance.yaml carries Gmail's thresholds", () => {
  const p = loadCompliancePolicy(layeredFiles('compliance.yaml', null));
  assert.equal(p.bulkRecipients, 5000);
  assert.deepEqual(p.complaintRate, { warnAbove: 0.001, errorAbove: 0.003, windowMs: 30 * 86_400_000, lastDeliveries: 10, minDelivered: 1000 });
});

test('an operator file overrides the keys it sets and keeps the others', () => {
  const p = loadCompliancePolicy(layeredFiles('compliance.yaml', operatorDir('bulkRecipients: 100\ncomplaintRate:\n  minDelivered: 10\n')));
  assert.equal(p.bulkRecipients, 100);
  assert.equal(p.complaintRate.minDelivered, 10);
  assert.equal(p.complaintRate.errorAbove, 0.003, 'kept from the shipped file');
});

test('an invalid operator file is refused with the file and the key named', () => {
  const dir = operatorDir('bulkRecipients: 0\ncomplaintRate:\n  warnAbove: 2\n  windw: 3d\n');
  assert.throws(() => loadCompliancePolicy(layeredFiles('compliance.yaml', dir)), (err: Error) => {
    assert.match(err.message, /compliance\.yaml: invalid policy/);
    assert.match(err.message, /bulkRecipients/);
    assert.match(err.message, /complaintRate\.warnAbove/);
    assert.match(err.message, /windw/);
    return true;
  });
  assert.throws(() => loadCompliancePolicy(layeredFiles('compliance.yaml', operatorDir('complaintRate:\n  warnAbove: 0.01\n'))), /warnAbove must not be above/);
});
