/**
 * The ready queue's operations on their own: order, waiting connections, the connection
 * and failure counts, resting and the scheduled resume, and when the queue is idle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MxRule } from '../config/mx-rules.ts';
import { ReadyQueue, type SiteInfo, type Work } from './ready-queue.ts';
import type { SpoolMessage } from './spool.ts';

const site: SiteInfo = { name: 'example.test', hosts: [{ name: 'mx.example.test', preference: 10, ips: ['192.0.2.1'] }], rule: { name: 'default' } as MxRule };
const work = (id: number): Work => ({ message: { id } as SpoolMessage, dropped: false });
const ids = (ws: (Work | undefined | null)[]) => ws.map((w) => w?.message.id ?? null);
const queue = () => new ReadyQueue('example.test|', site, { address: null } as never);

test('push, take, requeue and drain keep the line in order', () => {
  const rq = queue();
  for (const id of [1, 2, 3]) rq.push(work(id));
  assert.equal(rq.queued, 3);
  const first = rq.take()!;
  assert.equal(first.message.id, 1);
  rq.requeue(first);
  assert.deepEqual(ids([rq.take(), rq.take()]), [1, 2], 'a requeued message keeps its place');
  rq.push(work(4));
  assert.deepEqual(ids(rq.drain()), [3, 4]);
  assert.equal(rq.queued, 0);
  assert.equal(rq.take(), undefined);
});

test('a waiting connection gets the next pushed message directly, or null when its wait ends or it is woken', async () => {
  const rq = queue();
  const waiting = rq.waitForWork(1000);
  rq.push(work(9));
  assert.equal((await waiting)?.message.id, 9);
  assert.equal(rq.queued, 0, 'handed over, not queued');
  assert.equal(await rq.waitForWork(5), null);
  rq.push(work(10));
  assert.equal(rq.queued, 1, 'a waiter whose wait ended does not take messages');
  const woken = rq.waitForWork(10_000);
  rq.wakeAll();
  assert.equal(await woken, null);
});

test('a connection is wanted while more wait than the busy connections will take', async () => {
  const rq = queue();
  assert.equal(rq.wantsConnection(), false);
  rq.push(work(1));
  assert.equal(rq.wantsConnection(), true);
  rq.connectionOpened();
  assert.equal(rq.active, 1);
  assert.equal(rq.wantsConnection(), false, 'one busy connection for one message');
  rq.push(work(2));
  assert.equal(rq.wantsConnection(), true);
  rq.connectionClosed();
  rq.connectionClosed();
  assert.equal(rq.active, 0, 'never below zero');
});

test('connection failures count in a row until one succeeds', () => {
  const rq = queue();
  assert.deepEqual([rq.connectFailed(), rq.connectFailed()], [1, 2]);
  assert.equal(rq.connectFailures, 2);
  rq.connectSucceeded();
  assert.equal(rq.connectFailures, 0);
});

test('rest, one scheduled resume at a time, and idleness', async () => {
  const rq = queue();
  assert.equal(rq.isIdle(), true);
  rq.restUntil(12345);
  assert.equal(rq.resumeAt, 12345);
  let resumed = 0;
  rq.scheduleResume(5, () => resumed++);
  rq.scheduleResume(5, () => resumed++);
  assert.equal(rq.resumeScheduled, true);
  assert.equal(rq.isIdle(), false, 'a queue waiting to resume is not dropped');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(resumed, 1);
  assert.equal(rq.resumeScheduled, false);
  rq.scheduleResume(5, () => resumed++);
  rq.cancelResume();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(resumed, 1, 'a cancelled resume does not run');
  rq.push(work(1));
  assert.equal(rq.isIdle(), false);
  rq.drain();
  rq.connectionOpened();
  assert.equal(rq.isIdle(), false);
  rq.connectionClosed();
  assert.equal(rq.isIdle(), true);
  const other = { ...site, name: 'other.test' };
  rq.updateSite(other);
  assert.equal(rq.site, other);
});
