import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../../db/testing.ts';
import { layeredFiles } from '../../config/policy-file.ts';
import { loadAdaptiveRules } from '../../config/adaptive-rules.ts';
import { loadMxRules } from '../../config/mx-rules.ts';
import { addOperatorAdaptation, Adaptations } from './adaptations.ts';
import { allocate, MtaPeers, split, type Allocation, type Published, type SiteNeed } from './peers.ts';
import { Shaper } from './shaper.ts';

const sum = (xs: number[]) => xs.reduce((n, x) => n + x, 0);

test('a rule splits by demand: alone with work takes all of it, no work takes none, shares add up to at most 1 and connections to the rule', () => {
  assert.deepEqual(split([{ owner: 'a', demand: 20 }, { owner: 'b', demand: 0 }, { owner: 'c', demand: 0 }], 3), new Map([['a', { share: 1, connections: 3, outOf: 3 }], ['b', { share: 0, connections: 0, outOf: 0 }], ['c', { share: 0, connections: 0, outOf: 0 }]]));
  assert.deepEqual(split([{ owner: 'a', demand: 0 }], 3).get('a'), { share: 0, connections: 0, outOf: 0 });
  const even = split([{ owner: 'a', demand: 100 }, { owner: 'b', demand: 100 }, { owner: 'c', demand: 100 }], 3);
  assert.deepEqual([...even.values()].map((x) => x.connections), [1, 1, 1]);
  assert.ok(Math.abs(even.get('a')!.share - 1 / 3) < 1e-5);
  // 3:1 of 600 a minute: 450 and 150; 10 connections: 1 each, the 8 left by share (6 and 2).
  const uneven = split([{ owner: 'a', demand: 300 }, { owner: 'b', demand: 100 }], 10);
  assert.deepEqual(uneven.get('a'), { share: 0.75, connections: 7, outOf: 10 });
  assert.deepEqual(uneven.get('b'), { share: 0.25, connections: 3, outOf: 10 });
  // A few messages beside a large backlog still move: the floor gives them about 5 % of the rate.
  const small = split([{ owner: 'a', demand: 1000 }, { owner: 'b', demand: 2 }], 10).get('b')!;
  assert.ok(small.share > 0.04 && small.share < 0.06 && small.connections === 1, JSON.stringify(small));
  // More processes with work than connections: the largest demands get one each, the others wait.
  const few = split([{ owner: 'a', demand: 5 }, { owner: 'b', demand: 50 }, { owner: 'c', demand: 30 }], 2);
  assert.deepEqual([few.get('a')!.connections, few.get('b')!.connections, few.get('c')!.connections], [0, 1, 1]);
  assert.equal(few.get('a')!.share, 0);
  // Any demands: the sum never passes the rule.
  for (let k = 0; k < 500; k++) {
    const n = 1 + (k % 5);
    const max = 1 + (k % 7);
    const parts = [...split(Array.from({ length: n }, (_, i) => ({ owner: `p${i}`, demand: (k * 7919 + i * 104729) % 13 === 0 ? 0 : ((k * 31 + i * 17) % 997) + 1 })), max).values()];
    assert.ok(sum(parts.map((p) => p.share)) <= 1, `shares ${parts.map((p) => p.share)}`);
    const conns = sum(parts.map((p) => p.connections));
    assert.ok(conns === max || (conns === 0 && parts.every((p) => p.share === 0)) || conns < max, `connections ${conns} of ${max}`);
    assert.ok(conns <= max);
  }
});

test('while demands change, what the processes use never adds up to more than the rule, and it follows the demands within a few heartbeats', () => {
  // Three processes beat one after the other (the lock serializes them), each with what it
  // holds; what a process uses is lowered before it writes and raised after.
  const max = 3;
  const owners = ['a', 'b', 'c'];
  const published = new Map<string, Published>();
  const used = new Map<string, Allocation>(owners.map((o) => [o, { share: 0, connections: 0, outOf: 0 }]));
  const open = new Map<string, number>(owners.map((o) => [o, 0]));
  const beat = (owner: string, demand: number) => {
    const needs = new Map<string, SiteNeed>([['site', { demand, maxConnections: max, open: open.get(owner)! }]]);
    const others = owners.filter((o) => o !== owner && published.has(o)).map((o) => ({ owner: o, published: published.get(o)! }));
    const { use, publish } = allocate(owner, needs, others);
    const a = use.get('site')!;
    const old = used.get(owner)!;
    used.set(owner, { share: Math.min(old.share, a.share), connections: Math.min(old.connections, a.connections), outOf: a.outOf });
    check();
    published.set(owner, publish);
    // Committed: connections open up to the new limit; those above it (opened before it was
    // lowered) were open until now, and were written as open.
    used.set(owner, a);
    open.set(owner, a.connections);
    check();
  };
  const check = () => {
    // (to a billionth: adding floating-point shares may pass 1 by 1e-16)
    assert.ok(sum([...used.values()].map((u) => u.share)) <= 1 + 1e-9, `shares used ${JSON.stringify([...used])}`);
    assert.ok(sum([...open.values()]) <= max, `connections open ${JSON.stringify([...open])}`);
  };
  // a alone with a small delivery: all of the rule at once.
  beat('a', 20);
  assert.deepEqual(used.get('a'), { share: 1, connections: 3, outOf: 3 });
  beat('b', 0);
  beat('c', 0);
  assert.deepEqual([used.get('b')!.share, used.get('c')!.share], [0, 0], 'no work, no part');
  // b and c claim large batches: a still holds all, they get their part once a has seen them.
  beat('b', 500);
  assert.equal(used.get('b')!.share, 0, 'nothing is free yet');
  beat('c', 500);
  beat('a', 15);
  beat('b', 500);
  assert.equal(used.get('b')!.connections, 0, 'the connections a had open count until a writes that they closed');
  beat('c', 500);
  beat('a', 10);
  beat('b', 500);
  beat('c', 500);
  const shares = owners.map((o) => used.get(o)!.share);
  assert.ok(shares[1] > 0.45 && shares[2] > 0.45 && shares[0] > 0.04, `after three heartbeats: ${shares}`);
  assert.deepEqual(owners.map((o) => used.get(o)!.connections), [1, 1, 1]);
  // Random demands in a random order: the sums hold at every step.
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let k = 0; k < 2000; k++) beat(owners[Math.floor(rnd() * 3)], rnd() < 0.3 ? 0 : Math.floor(rnd() * 1000));
  // a stops (its row goes): the others take its part.
  published.delete('a');
  used.delete('a');
  open.delete('a');
  owners.splice(0, 1);
  // (within three: the connections b had open count until it writes that they closed)
  for (let k = 0; k < 3; k++) for (const o of owners) beat(o, 100);
  assert.ok(Math.abs(used.get('b')!.share + used.get('c')!.share - 1) < 1e-5, `the two left take the whole rule: ${JSON.stringify([...used])}`);
});

test('MTA processes count each other by heartbeat and split a site by what they hold, through the database', async () => {
  const { db, cleanup } = await createTestDb();
  try {
    const options = { staleMs: 20_000 };
    const t = Date.now();
    const demand = { a: 0, b: 0 };
    const needs = (d: number): Map<string, SiteNeed> => new Map([['mx.example', { demand: d, maxConnections: 4, open: 0 }]]);
    const a = new MtaPeers(db, 'mta-a', () => needs(demand.a), options, t);
    const b = new MtaPeers(db, 'mta-b', () => needs(demand.b), options, t + 1);
    demand.a = 20;
    await a.beat(t);
    assert.equal(a.count, 1);
    assert.deepEqual(a.allocation('mx.example'), { share: 1, connections: 4, outOf: 4 }, 'alone, a process takes the whole rule');
    assert.deepEqual(a.allocation('other.example'), { share: 0, connections: 0, outOf: 0 }, 'nothing of a site it has not asked for');
    demand.b = 60;
    await b.beat(t + 100);
    assert.equal(b.count, 2);
    assert.equal(b.holding, true, 'a has not counted b yet');
    assert.deepEqual(b.allocation('mx.example'), { share: 0, connections: 0, outOf: 0 }, 'a newcomer takes only what is free');
    await a.beat(t + 1000);
    assert.equal(a.count, 2);
    assert.equal(a.allocation('mx.example').share, 0.25, 'a lowers to its demand over all demand (20 of 80)');
    await b.beat(t + 1100);
    assert.equal(b.holding, false);
    assert.deepEqual([b.allocation('mx.example').share, a.allocation('mx.example').connections + b.allocation('mx.example').connections], [0.75, 4]);

    // b dies without leaving: it keeps its part until its heartbeat is stale.
    await a.beat(t + 20_000);
    assert.deepEqual([a.count, a.allocation('mx.example').share], [2, 0.25]);
    await a.beat(t + 21_200);
    assert.deepEqual([a.count, a.allocation('mx.example').share], [1, 1]);

    // A process that stops leaves at once.
    await b.beat(t + 22_000);
    await a.beat(t + 22_100);
    assert.equal(a.count, 2);
    await b.leave();
    await b.beat(t + 22_200);
    await a.beat(t + 23_000);
    assert.deepEqual([a.count, a.allocation('mx.example').share], [1, 1], 'a stopped process does not come back');

    // On SQLite a starting MTA is the only one: rows left by runs that died are forgotten.
    const c = new MtaPeers(db, 'mta-c', () => needs(1), options, t);
    await c.beat(t + 24_000);
    await a.forgetOthers();
    await a.beat(t + 24_000);
    assert.deepEqual([a.count, a.holding], [1, false]);
  } finally {
    await cleanup();
  }
});

test('a process sends to a site at its share of the rule\'s rate and with its part of the connections; with no part, none', async () => {
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
    const make = () => new Shaper(() => mx, () => loadAdaptiveRules(layeredFiles('adaptive-rules.yaml', null)), new Adaptations(db.kysely));
    const alone = make();
    const quarter = make();
    quarter.setShares(() => ({ share: 0.25, connections: 3, outOf: 10 }));
    const none = make();
    none.setShares(() => ({ share: 0, connections: 0, outOf: 0 }));
    const one = sentIn10s(alone);
    const part = sentIn10s(quarter);
    // 600 a minute is 10 a second: 100 in 10 s plus the first second's burst.
    assert.ok(one.sent >= 100 && one.sent <= 111, `alone: ${one.sent}`);
    assert.ok(part.sent >= 25 && part.sent <= 28, `a quarter: ${part.sent}`);
    assert.deepEqual([one.connections, part.connections], [10, 3]);
    assert.equal(none.acquire('example', rule, null, none.state('example', null, 0), 0), 1000, 'no part: ask again at the next heartbeat');
    assert.equal(none.maxConnectionsPerPath(rule, none.state('example', null, 0)), 0);
  } finally {
    await cleanup();
  }
});

test("under a throttle the processes' connections add up to the throttled rule: at once, and after the next heartbeat splits it", async () => {
  const { db, cleanup } = await createTestDb();
  try {
    const mx = loadMxRules(layeredFiles('mx-rules.yaml', null));
    const rule = { ...mx.match(['mx.example']), maxConnections: 4 };
    const adaptations = new Adaptations(db.kysely);
    const owners = ['a', 'b', 'c'];
    const parts = new Map<string, Allocation>();
    const shapers = owners.map((o) => {
      const s = new Shaper(() => mx, () => loadAdaptiveRules(layeredFiles('adaptive-rules.yaml', null)), adaptations);
      s.setShares(() => parts.get(o) ?? null);
      return s;
    });
    const connections = () => shapers.map((s) => s.maxConnectionsPerPath(rule, s.state('example', null)));
    const heartbeat = () => {
      const total = shapers[0].connectionsToSplit('example', rule);
      for (const [o, a] of split(owners.map((owner) => ({ owner, demand: 100 })), total)) parts.set(o, a);
      return total;
    };

    assert.equal(heartbeat(), 4);
    assert.equal(sum(connections()), 4, 'no throttle: the rule\'s 4, split three ways');
    await addOperatorAdaptation(db.kysely, { site: 'example', source: null, action: 'throttle', factor: 0.5, reason: 'test', durationMs: 3_600_000 });
    await adaptations.reload();
    assert.ok(sum(connections()) <= 2, `before the next heartbeat: ${connections()} (the throttled rule allows 2)`);
    assert.equal(heartbeat(), 2);
    assert.equal(sum(connections()), 2, `after it: ${connections()}`);

    await addOperatorAdaptation(db.kysely, { site: 'example', source: null, action: 'throttle', factor: 0.1, reason: 'test', durationMs: 3_600_000 });
    await adaptations.reload();
    assert.ok(sum(connections()) <= 1, `a throttle down to one connection: ${connections()}`);
    assert.equal(heartbeat(), 1);
    assert.deepEqual(connections().sort(), [0, 0, 1], 'one process sends, the others wait for their turn');
  } finally {
    await cleanup();
  }
});
