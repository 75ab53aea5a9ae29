import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent, type LogState } from './apply.ts';
import type { StoredEvent, EventType } from '../events/index.ts';
import type { Qualification } from '../mail/failure.ts';
import { LogStatus } from '../deliveries/log-status.ts';

const taken: LogState = { id: 1, deliveryId: 1, address: 'a@x.test', status: LogStatus.Taken, failureType: 0, failureReason: null, reply: null, attempts: 0, eventAt: 1000, sentAt: null, complainedAt: null, openedAt: null, clickedAt: null, clickedLinks: null };
const hard: Qualification = { category: 'user-unknown', failureType: 'Hard', failureReason: 'User unknown', disposition: 'fail-quarantine', ruleId: 'r1' };
const soft: Qualification = { category: 'mailbox-full', failureType: 'Soft', failureReason: 'Mailbox full', disposition: 'retry', ruleId: 'r2' };
let n = 0;
const ev = (type: EventType, at: number, payload: Record<string, unknown> = {}): StoredEvent => ({ id: ++n, key: `k${n}`, type, logId: 1, deliveryId: 1, occurredAt: at, payload, appliedAt: null });
const run = (log: LogState, ...events: StoredEvent[]) => events.reduce((l, e) => applyEvent(l, e).log, log);

test('the seed table: relayed → taken; delivered → Sent; hard → Failed; soft keeps the status and updates the reason', () => {
  assert.equal(run(taken, ev('delivered', 2000, { reply: '250 ok' })).status, LogStatus.Sent);
  const failed = run(taken, ev('bounced', 2000, { reply: '550 5.1.1', qualification: hard }));
  assert.equal(failed.status, LogStatus.Failed);
  assert.equal(failed.failureType, 2);
  assert.equal(failed.failureReason, 1);
  const deferred = applyEvent(taken, ev('deferred', 2000, { reply: '452 4.2.2 full', qualification: soft, attempt: 1 }));
  assert.equal(deferred.log.status, LogStatus.Taken);
  assert.equal(deferred.log.failureReason, 5);
  assert.equal(deferred.log.failureType, 1);
  assert.equal(deferred.quarantine?.kind, 'error');
});

test('a retry that succeeds makes the log Sent and clears the failure; one that runs out of validity makes it Failed', () => {
  const ok = run(taken, ev('deferred', 2000, { qualification: soft }), ev('delivered', 3000));
  assert.equal(ok.status, LogStatus.Sent);
  assert.equal(ok.failureReason, null);
  const expired = run(taken, ev('deferred', 2000, { qualification: soft }), ev('expired', 3000, { qualification: soft }));
  assert.equal(expired.status, LogStatus.Failed);
  assert.equal(expired.failureReason, 5);
});

test('an asynchronous bounce after Sent makes it Failed; a complaint keeps Sent and records the complaint', () => {
  const sent = run(taken, ev('delivered', 2000));
  assert.equal(run(sent, ev('bounced-async', 5000, { qualification: hard })).status, LogStatus.Failed);
  const complained = applyEvent(sent, ev('complained', 6000, { feedbackType: 'abuse' }));
  assert.equal(complained.log.status, LogStatus.Sent);
  assert.equal(complained.log.complainedAt, 6000);
  assert.equal(complained.quarantine?.kind, 'complaint');
  assert.deepEqual(complained.bump, ['complaints']);
  const auto = applyEvent(sent, ev('auto-replied', 7000, { qualification: { ...soft, disposition: 'ignore', failureType: 'Ignored' } }));
  assert.equal(auto.log, sent);
  assert.equal(auto.quarantine, null);
});

test('events out of order leave the newest truth', () => {
  const failedAt3000 = run(taken, ev('bounced', 3000, { qualification: hard }));
  // A stale "delivered" from an earlier attempt arrives late: still Failed.
  assert.equal(run(failedAt3000, ev('delivered', 2000)).status, LogStatus.Failed);
  // A stale deferral never changes a final status.
  assert.equal(run(run(taken, ev('delivered', 3000)), ev('deferred', 2000, { qualification: soft })).status, LogStatus.Sent);
  // A stale cancellation does not undo a delivery.
  assert.equal(run(run(taken, ev('delivered', 3000)), ev('cancelled', 2500)).status, LogStatus.Sent);
});

test('applying the same event twice changes nothing the second time', () => {
  const e = ev('bounced', 3000, { qualification: hard, reply: '550' });
  const once = run(taken, e);
  assert.deepEqual(run(once, e), once);
  const c = ev('complained', 4000);
  const complained = run(once, c);
  assert.equal(applyEvent(complained, c).quarantine, null);
});

test('a bounce tied to its log by a Message-ID alone fails the log but never counts towards the quarantine', () => {
  const sent = run(taken, ev('delivered', 2000));
  const weak = applyEvent(sent, ev('bounced-async', 5000, { qualification: soft, evidence: 'correlated by Message-ID only' }));
  assert.equal(weak.log.status, LogStatus.Failed);
  assert.equal(weak.quarantine, null);
  const strong = applyEvent(sent, ev('bounced-async', 5000, { qualification: soft }));
  assert.equal(strong.quarantine?.kind, 'error');
});
