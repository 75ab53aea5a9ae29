import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent, type LogState } from './apply.ts';
import type { StoredEvent, EventType } from '../events/index.ts';
import { LogStatus } from '../deliveries/log-status.ts';

// The shipped timings (policy/machine-engagement.yaml).
const timing = { proxyPrefetchMs: 30_000, clickBeforeOpenMs: 10_000 };
const SENT = 1_000_000;
const sent: LogState = { id: 1, deliveryId: 1, address: 'a@x.test', status: LogStatus.Sent, failureType: 0, failureReason: null, reply: null, attempts: 1, eventAt: SENT, sentAt: SENT, complainedAt: null, openedAt: null, clickedAt: null, clickedLinks: null };
const person = { userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0', ip: '203.0.113.5', method: 'GET' };
let n = 0;
const ev = (type: EventType, at: number, payload: Record<string, unknown> = {}): StoredEvent => ({ id: ++n, key: `k${n}`, type, logId: 1, deliveryId: 1, occurredAt: at, payload: { ...person, ...payload }, appliedAt: null });
const open = (at: number, p: Record<string, unknown> = {}) => ev('opened', SENT + at, p);
const click = (at: number, linkId: number, p: Record<string, unknown> = {}) => ev('clicked', SENT + at, { linkId, ...p });

/** Applies events in order; returns the last log and every counter bumped, with counts. */
function run(log: LogState, ...events: StoredEvent[]) {
  const bumps: Record<string, number> = {};
  const notes: (string | undefined)[] = [];
  for (const e of events) {
    const effect = applyEvent(log, e, timing);
    log = effect.log;
    notes.push(effect.note);
    for (const b of effect.bump) bumps[b] = (bumps[b] ?? 0) + 1;
  }
  return { log, bumps, notes };
}

test("a person's first open counts an open and a unique open; the second only an open", () => {
  const one = run(sent, open(60_000));
  assert.deepEqual(one.bumps, { opens: 1, uniqueOpens: 1 });
  assert.equal(one.log.openedAt, SENT + 60_000);
  const two = run(sent, open(60_000), open(120_000));
  assert.deepEqual(two.bumps, { opens: 2, uniqueOpens: 1 });
  assert.equal(two.log.openedAt, SENT + 60_000, 'the first open stays the time of opening');
});

test('a click with no open before it is also a unique open (the pixel may be blocked), but not an open fetched', () => {
  const r = run(sent, click(60_000, 3));
  assert.deepEqual(r.bumps, { clicks: 1, 'link:3:clicks': 1, 'link:3:unique': 1, uniqueClicks: 1, uniqueOpens: 1 });
  assert.equal(r.log.openedAt, SENT + 60_000);
  assert.deepEqual(run(sent, open(30_000), click(60_000, 3)).bumps.uniqueOpens, 1, 'no second unique open after a real one');
});

test('unique clicks are per link and per log: the same link twice is one unique, another link is another', () => {
  const r = run(sent, click(60_000, 3), click(70_000, 3), click(80_000, 4));
  assert.equal(r.bumps.clicks, 3);
  assert.equal(r.bumps.uniqueClicks, 1);
  assert.equal(r.bumps['link:3:clicks'], 2);
  assert.equal(r.bumps['link:3:unique'], 1);
  assert.equal(r.bumps['link:4:unique'], 1);
  assert.equal(r.log.clickedLinks, '3,4');
});

test("a machine's events count only machine opens and clicks, leave the log as it was, and say why", () => {
  const apple = { userAgent: 'Mozilla/5.0', ip: '17.1.2.3', agent: 'Apple Mail Privacy Protection', agentKind: 'machine' };
  const safe = { agent: 'Microsoft Safe Links', agentKind: 'scanner' };
  const r = run(sent, open(600_000, apple), click(600_000, 3, safe));
  assert.deepEqual(r.bumps, { machineOpens: 1, machineClicks: 1 });
  assert.deepEqual(r.log, sent);
  assert.deepEqual(r.notes, ['machine: Apple Mail Privacy Protection', 'machine: Microsoft Safe Links']);
});

test("a proxy's open within proxyPrefetch of sending is a prefetch; later it is the person reading", () => {
  const gmail = { agent: 'Gmail image proxy', agentKind: 'proxy' };
  const early = run(sent, open(5_000, gmail));
  assert.deepEqual(early.bumps, { machineOpens: 1 });
  assert.match(early.notes[0]!, /^machine: Gmail image proxy, fetched 5 s after sending/);
  assert.deepEqual(run(sent, open(31_000, gmail)).bumps, { opens: 1, uniqueOpens: 1 });
});

test('a click within clickBeforeOpen of sending, before any open, is a scanner; after an open or later it is a person', () => {
  const early = run(sent, click(3_000, 1));
  assert.deepEqual(early.bumps, { machineClicks: 1 });
  assert.match(early.notes[0]!, /before any open/);
  assert.equal(run(sent, click(11_000, 1)).bumps.machineClicks, undefined);
  assert.equal(run(sent, open(1_000), click(3_000, 1)).bumps.machineClicks, undefined, 'opened first: a quick reader');
});

test('a click marked as part of a burst, and any HEAD request, are machines', () => {
  assert.deepEqual(run(sent, click(600_000, 1, { burst: 3 })).bumps, { machineClicks: 1 });
  assert.match(run(sent, click(600_000, 1, { burst: 3 })).notes[0]!, /3 links/);
  assert.deepEqual(run(sent, open(600_000, { method: 'HEAD' })).bumps, { machineOpens: 1 });
  assert.deepEqual(run(sent, click(600_000, 1, { method: 'HEAD' })).bumps, { machineClicks: 1 });
});

test('an open or a click never changes the status, even on a log still Taken into account', () => {
  const taken: LogState = { ...sent, status: LogStatus.Taken, sentAt: null, attempts: 0 };
  const r = run(taken, open(60_000), click(70_000, 1));
  assert.equal(r.log.status, LogStatus.Taken);
  assert.equal(r.log.sentAt, null);
  assert.equal(r.bumps.uniqueOpens, 1, 'but the open is counted');
  const failed: LogState = { ...sent, status: LogStatus.Failed, failureType: 2, failureReason: 1 };
  const f = run(failed, open(60_000));
  assert.equal(f.log.status, LogStatus.Failed);
  assert.equal(f.log.failureReason, 1);
});
