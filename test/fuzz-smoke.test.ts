/**
 * A short pass of every fuzz target (test/fuzz/targets.ts) in the default suite: 2,000
 * generated inputs each (fewer for real HTTP), so a change that breaks an invariant is
 * seen without running `npm run fuzz`. The seed is fixed so a failure here replays with
 * `npm run fuzz -- --target NAME --seed SEED --path PATH` (printed in the message).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTarget } from './fuzz/harness.ts';
import { TARGETS } from './fuzz/targets.ts';

const RUNS = 2_000;
const SEED = 20261203;

for (const target of TARGETS) {
  test(`fuzz smoke: ${target.name} (${target.description})`, async () => {
    const runs = Math.max(50, Math.round(RUNS * Math.min(1, (target.weight ?? 1) * 10)));
    const r = await runTarget(target, { runs, timeLimitMs: 60_000, seed: SEED });
    assert.equal(r.failures, 0, `${r.error}\ninput (shrunk): ${r.counterexample}\nreplay: npm run fuzz -- --target ${r.name} --seed ${r.seed}${r.path ? ` --path ${r.path}` : ''}`);
    assert.equal(r.runs, runs, 'every input ran');
  });
}
