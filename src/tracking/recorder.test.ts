import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDb } from '../db/testing.ts';
import type { Db } from '../db/index.ts';
import { silentLogger } from '../lib/logger.ts';
import { agentMatcher } from './machine.ts';
import { TrackingRecorder, type TrackingHit } from './recorder.ts';

const agents = agentMatcher([{ name: 'Scripted HTTP client', kind: 'scanner', userAgent: /python-requests/i, ranges: [] }]);
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0';
const hit = (logId: number, extra: Partial<TrackingHit> = {}): TrackingHit => ({ deliveryId: 1, logId, at: Date.now(), userAgent: BROWSER, ip: '203.0.113.5', method: 'GET', ...extra });

async function stored(db: Db, type?: string) {
  let q = db.kysely.selectFrom('events').select(['type', 'log_id', 'key', 'payload']).orderBy('id');
  if (type) q = q.where('type', '=', type);
  return (await q.execute()).map((r) => ({ type: r.type, logId: Number(r.log_id), key: r.key, payload: JSON.parse(r.payload) as Record<string, unknown> }));
}

/** Polls until `fn` holds (the machine may be busy: a fixed sleep would be flaky), for at most 5 s. */
async function until(what: string, fn: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > 5000) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
  return Date.now() - t0;
}

async function withRecorder(options: { flushMs?: number; burstMs?: number; maxBuffered?: number; start?: boolean }, fn: (r: TrackingRecorder, db: Db) => Promise<void>) {
  const { db, cleanup } = await createTestDb();
  const r = new TrackingRecorder({ db, logger: silentLogger, agents: () => agents, burstMs: () => options.burstMs ?? 300, flushMs: options.flushMs ?? 50, maxBuffered: options.maxBuffered });
  if (options.start !== false) r.start();
  try {
    await fn(r, db);
  } finally {
    await r.stop();
    await cleanup();
  }
}

test('an open is answered before it is written, and written within a flush interval, with who asked', () =>
  withRecorder({ flushMs: 50 }, async (r, db) => {
    assert.equal(r.open(hit(7, { userAgent: 'python-requests/2.32', ip: '198.51.100.1' })), true);
    assert.equal((await stored(db)).length, 0, 'not written while the request is answered');
    assert.equal(r.buffered, 1);
    const ms = await until('the open written', async () => (await stored(db)).length === 1);
    assert.ok(ms < 1000, `written after ${ms} ms`);
    const [e] = await stored(db);
    assert.equal(e.type, 'opened');
    assert.equal(e.logId, 7);
    assert.deepEqual({ ...e.payload }, { userAgent: 'python-requests/2.32', ip: '198.51.100.1', method: 'GET', agent: 'Scripted HTTP client', agentKind: 'scanner' });
    assert.equal(r.written, 1);
    assert.equal(r.buffered, 0);
  }));

test('a click is held for the burst window before it is written', () =>
  withRecorder({ flushMs: 50, burstMs: 1000 }, async (r, db) => {
    const t0 = Date.now();
    r.click(hit(7), 1, null);
    r.open(hit(8));
    await until('the open written', async () => (await stored(db, 'opened')).length === 1);
    await sleep(200);
    // Only meaningful while the window lasts (a stalled machine may already be past it).
    if (Date.now() - t0 < 900) assert.equal((await stored(db, 'clicked')).length, 0, 'the click is still held while the open is written');
    await until('the click written', async () => (await stored(db, 'clicked')).length === 1);
    const after = Date.now() - t0;
    assert.ok(after >= 1000, `written ${after} ms after the click, before its burst window ended`);
    const clicks = await stored(db, 'clicked');
    assert.equal(clicks.length, 1);
    assert.equal(clicks[0].payload.linkId, 1);
    assert.equal(clicks[0].payload.burst, undefined, 'one link alone is no burst');
  }));

test('two links of one log within the window are both marked a burst; the same link twice, or another log, is not', () =>
  withRecorder({ flushMs: 50, burstMs: 300 }, async (r, db) => {
    const t = Date.now();
    r.click(hit(7, { at: t }), 1, null);
    r.click(hit(7, { at: t + 100 }), 2, 'https://a.example/u/7');
    r.click(hit(8, { at: t }), 1, null);
    r.click(hit(8, { at: t + 100 }), 1, null);
    r.click(hit(9, { at: t }), 2, null);
    await until('five clicks written', async () => (await stored(db, 'clicked')).length === 5);
    const clicks = await stored(db, 'clicked');
    assert.equal(clicks.length, 5);
    const burst = (logId: number) => clicks.filter((c) => c.logId === logId).map((c) => c.payload.burst);
    assert.deepEqual(burst(7), [2, 2]);
    assert.deepEqual(burst(8), [undefined, undefined]);
    assert.deepEqual(burst(9), [undefined]);
    assert.equal(clicks.find((c) => c.logId === 7 && c.payload.linkId === 2)?.payload.url, 'https://a.example/u/7');
  }));

test('links of one log further apart than the window are not a burst', () =>
  withRecorder({ flushMs: 50, burstMs: 200 }, async (r, db) => {
    r.click(hit(7), 1, null);
    await sleep(400);
    r.click(hit(7), 2, null);
    await until('two clicks written', async () => (await stored(db, 'clicked')).length === 2);
    assert.deepEqual((await stored(db, 'clicked')).map((c) => c.payload.burst), [undefined, undefined]);
  }));

test('past the buffer bound new events are dropped and counted, and the waiting ones are still written', () =>
  withRecorder({ maxBuffered: 3, start: false }, async (r, db) => {
    const accepted = [1, 2, 3, 4, 5].map((i) => r.open(hit(i)));
    assert.deepEqual(accepted, [true, true, true, false, false]);
    assert.equal(r.click(hit(6), 1, null), false);
    assert.equal(r.dropped, 3);
    await r.flush(true);
    assert.deepEqual((await stored(db)).map((e) => e.logId), [1, 2, 3]);
    assert.equal(r.written, 3);
    assert.equal(r.open(hit(7)), true, 'room again once written');
  }));

test('an unsubscription is written before it resolves, and a second one for the same log is stored once', () =>
  withRecorder({ start: false }, async (r, db) => {
    await r.unsubscribe(hit(7), 'one-click');
    const first = await stored(db, 'unsubscribed');
    assert.equal(first.length, 1);
    assert.equal(first[0].key, 'unsubscribe.7');
    assert.equal(first[0].payload.how, 'one-click');
    await r.unsubscribe(hit(7), 'page');
    assert.equal((await stored(db, 'unsubscribed')).length, 1);
    await r.unsubscribe(hit(8), 'page');
    assert.deepEqual((await stored(db, 'unsubscribed')).map((e) => e.logId), [7, 8]);
  }));
