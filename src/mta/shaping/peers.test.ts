import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../../db/testing.ts';
import { layeredFiles } from '../../config/policy-file.ts';
import { loadAdaptiveRules } from '../../config/adaptive-rules.ts';
import { loadMxRules } from '../../config/mx-rules.ts';
import { Adaptations } from './adaptations.ts';
import { MtaPeers } from './peers.ts';
import { Shaper } from './shaper.ts';

test('MTA processes count each other by heartbeat: a stopped one leaves at once, a dead one when its heartbeat is stale', async () => {
  const { db, cleanup } = await createTestDb();
  try {
    const options = { beatMs: 5_000, staleMs: 20_000 };
    const t = Date.now();
    const a = new MtaPeers(db, 'mta-a', options, t);
    const b = new MtaPeers(db, 'mta-b', options, t);
    await a.beat(t, true);
    assert.equal(a.count, 1);
    assert.deepEqual([a.share, a.holding], [1, false], 'alone, a process takes the whole rule from the start');
    await b.beat(t, true);
    assert.equal(b.count, 2);
    assert.deepEqual([b.share, b.holding], [1 / 2, true], 'a newcomer holds back until the others have counted it');
    assert.equal(await a.beat(t + 1_000), false, 'a heartbeat is written every beatMs, not at every call');
    assert.equal(a.count, 1);
    await a.beat(t + 5_000);
    assert.equal(a.share, 1 / 2);
    await b.beat(t + 5_000);
    assert.deepEqual([b.share, b.holding], [1 / 2, false], 'one heartbeat later, everyone has counted it');

    // b dies without leaving: it counts until its heartbeat is older than staleMs.
    await a.beat(t + 20_000);
    assert.equal(a.count, 2);
    await a.beat(t + 25_001);
    assert.equal(a.count, 1);

    // A process that stops leaves at once.
    await b.beat(t + 26_000, true);
    await a.beat(t + 30_001);
    assert.equal(a.count, 2);
    await b.leave();
    await a.beat(t + 35_001);
    assert.equal(a.count, 1);

    // On SQLite a starting MTA is the only one: rows left by runs that died are forgotten.
    await b.beat(t + 36_000, true);
    await a.forgetOthers();
    await a.beat(t + 36_000, true);
    assert.deepEqual([a.count, a.holding], [1, false]);
  } finally {
    await cleanup();
  }
});

test('with two MTA processes, each sends to a site at half its rule\'s rate and with half its connections', async () => {
  const { db, cleanup } = await createTestDb();
  try {
    const mx = loadMxRules(layeredFiles('mx-rules.yaml', null));
    const rule = { ...mx.match(['mx.example']), messagesPerMinute: 600, messagesPerHour: null, maxConnections: 10 };
    const sentIn10s = (shaper: Shaper) => {
      const st = shaper.state('example', null, 0);
      let sent = 0;
      for (let ms = 0; ms < 10_000; ms += 10) if (shaper.acquire('example', rule, null, st, ms) === 0) sent++;
      return { sent, connections: shaper.maxConnectionsPerPath(rule, st) };
    };
    const alone = new Shaper(() => mx, () => loadAdaptiveRules(layeredFiles('adaptive-rules.yaml', null)), new Adaptations(db.kysely));
    const shared = new Shaper(() => mx, () => loadAdaptiveRules(layeredFiles('adaptive-rules.yaml', null)), new Adaptations(db.kysely));
    shared.setShare(1 / 2);
    const one = sentIn10s(alone);
    const half = sentIn10s(shared);
    // 600 a minute is 10 a second: 100 in 10 s plus the first second's burst.
    assert.ok(one.sent >= 100 && one.sent <= 111, `alone: ${one.sent}`);
    assert.ok(half.sent >= 50 && half.sent <= 56, `half: ${half.sent}`);
    assert.deepEqual([one.connections, half.connections], [10, 5]);
  } finally {
    await cleanup();
  }
});
