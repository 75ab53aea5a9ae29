import assert from 'node:assert/strict';
import { test } from 'node:test';
import { happens, recipientFate } from './fate.ts';
import { parseSimProfiles } from './profiles.ts';

const provider = (extra: Record<string, unknown> = {}) =>
  parseSimProfiles({ providers: [{ name: 'p', domains: ['p.sim'], mxHosts: [{ name: 'mx.p.sim' }], ...extra }] }).providers[0];

test('local-part prefixes choose the outcome', () => {
  const p = provider();
  const cases: [string, string][] = [
    ['alice@p.sim', 'accept'],
    ['ok-alice@p.sim', 'accept'],
    ['unknown-a@p.sim', 'unknown'],
    ['full-a@p.sim', 'full'],
    ['overquota-a@p.sim', 'overquota'],
    ['disabled-a@p.sim', 'disabled'],
    ['spam-a@p.sim', 'spam'],
    ['bounce-later-a@p.sim', 'bounceLater'],
    ['complain-a@p.sim', 'complain'],
    ['autoreply-a@p.sim', 'autoreply'],
    ['defer-a@p.sim', 'defer'],
    ['drop-a@p.sim', 'drop'],
    // Only a leading prefix counts.
    ['a-unknown-b@p.sim', 'accept'],
  ];
  for (const [address, outcome] of cases) assert.equal(recipientFate(address, p).outcome, outcome, address);
});

test('grey- and slow- combine with an outcome in any order', () => {
  const p = provider();
  assert.deepEqual(recipientFate('grey-slow-unknown-bob@p.sim', p), { outcome: 'unknown', grey: true, slow: true, chance: true });
  assert.deepEqual(recipientFate('slow-grey-bob@p.sim', p), { outcome: 'accept', grey: true, slow: true, chance: true });
  assert.deepEqual(recipientFate('grey-bob@p.sim', p), { outcome: 'accept', grey: true, slow: false, chance: true });
});

test('percentages pick about that share of recipients, always the same ones', () => {
  const p = provider({ fates: { unknown: 5, autoreply: 10 }, greylist: { seconds: 1, percent: 20 } });
  const tally: Record<string, number> = {};
  let grey = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const fate = recipientFate(`user${i}@p.sim`, p);
    tally[fate.outcome] = (tally[fate.outcome] ?? 0) + 1;
    if (fate.grey) grey++;
  }
  assert.ok(Math.abs(tally.unknown / n - 0.05) < 0.01, `unknown share ${tally.unknown / n}`);
  assert.ok(Math.abs(tally.autoreply / n - 0.1) < 0.01, `autoreply share ${tally.autoreply / n}`);
  assert.ok(Math.abs(grey / n - 0.2) < 0.015, `grey share ${grey / n}`);
  for (let i = 0; i < 200; i++) assert.deepEqual(recipientFate(`user${i}@p.sim`, p), recipientFate(`user${i}@p.sim`, p));
});

test('prefixes win over percentages; ok- escapes every random event', () => {
  const p = provider({ fates: { unknown: 100 }, greylist: { seconds: 1, percent: 100 } });
  assert.equal(recipientFate('complain-x@p.sim', p).outcome, 'complain');
  assert.deepEqual(recipientFate('x@p.sim', p), { outcome: 'unknown', grey: true, slow: false, chance: true });
  assert.deepEqual(recipientFate('ok-x@p.sim', p), { outcome: 'accept', grey: false, slow: false, chance: false });
  assert.equal(recipientFate('grey-ok-x@p.sim', p).grey, true, 'an explicit grey- still applies');
});

test('random events are repeatable per key and near their rate', () => {
  let hits = 0;
  for (let i = 0; i < 10_000; i++) if (happens(3, `defer:a@p.sim:${i}`)) hits++;
  assert.ok(hits > 220 && hits < 380, `hits ${hits}`);
  assert.equal(happens(50, 'k'), happens(50, 'k'));
  assert.equal(happens(0, 'k'), false);
});
