import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bounceRecipient, type ParsedBounce } from '../mail/bounce-mail.ts';
import { LogStatus } from '../deliveries/log-status.ts';
import type { Qualification } from '../mail/failure.ts';
import { capAtSoft, LATE_BOUNCE_MS, weighCorrelation, type LogFacts } from './evidence.ts';
import type { Correlation } from './correlate.ts';

const now = Date.UTC(2026, 0, 10);
const log: LogFacts = { deliveryId: 7, address: 'ana@inbox.test', status: LogStatus.Sent, fromDomain: 'shop.test', startedAt: now - 3_600_000, validUntil: now + 86_400_000 };
const report = (kind: ParsedBounce['kind'], ...addresses: (string | null)[]): ParsedBounce => ({
  kind, recipients: addresses.map((a) => bounceRecipient({ recipient: a, action: 'failed' })), reportingMta: null, envelopeId: null, originalMessageId: null, originalHeaders: {}, feedbackType: null, subject: '', from: '',
});
const byMid = (over: Partial<NonNullable<Correlation['messageId']>> = {}): Correlation => ({ logId: 1, by: 'message-id', messageId: { deliveryId: 7, logId: 1, domain: 'shop.test', bound: true, ...over } });

test('VERP and mailto unsubscribe are applied in full whatever the report says', () => {
  assert.deepEqual(weighCorrelation({ logId: 1, by: 'verp' }, log, report('dsn', 'other@x.test'), now), { apply: 'full' });
  assert.deepEqual(weighCorrelation({ logId: 1, by: 'mailto-unsubscribe' }, log, report('arf'), now), { apply: 'full' });
});

test('X-Estafeta-Log: applied unless the report names somebody else; redacted or absent addresses do not contradict it', () => {
  const x: Correlation = { logId: 1, by: 'x-estafeta-log' };
  assert.equal(weighCorrelation(x, log, report('arf', 'ANA@inbox.test'), now).apply, 'full');
  assert.equal(weighCorrelation(x, log, report('arf', null), now).apply, 'full');
  assert.equal(weighCorrelation(x, log, report('arf', 'redacted@inbox.test'), now).apply, 'full');
  assert.equal(weighCorrelation(x, log, report('arf', 'xxxxxx@inbox.test'), now).apply, 'full');
  assert.equal(weighCorrelation(x, log, report('dsn', 'friend@elsewhere.test'), now).apply, 'none');
});

test('Message-ID: Soft at best, and only with the current format, the right recipient and in time', () => {
  assert.equal(weighCorrelation(byMid(), log, report('dsn', 'ana@inbox.test'), now).apply, 'soft');
  assert.equal(weighCorrelation(byMid(), log, report('dsn', 'ana@inbox.test'), log.validUntil + LATE_BOUNCE_MS - 1).apply, 'soft');
  const refused: [string, Correlation, LogFacts, ParsedBounce, number, RegExp][] = [
    ['older format', byMid({ bound: false }), log, report('dsn', 'ana@inbox.test'), now, /older format/],
    ['another delivery', byMid({ deliveryId: 8 }), log, report('dsn', 'ana@inbox.test'), now, /delivery 8/],
    ['another domain', byMid({ domain: 'evil.test' }), log, report('dsn', 'ana@inbox.test'), now, /evil\.test/],
    ['another recipient', byMid(), log, report('dsn', 'bob@inbox.test'), now, /<bob@inbox\.test>/],
    ['no recipient', byMid(), log, report('dsn'), now, /no recipient/],
    ['never sent', byMid(), { ...log, status: LogStatus.Pending }, report('dsn', 'ana@inbox.test'), now, /never handed/],
    ['before the start', byMid(), log, report('dsn', 'ana@inbox.test'), log.startedAt! - 1, /never handed/],
    ['too late', byMid(), log, report('dsn', 'ana@inbox.test'), log.validUntil + LATE_BOUNCE_MS + 1, /validity ended/],
    ['a complaint', byMid(), log, report('arf', 'ana@inbox.test'), now, /denylist/],
  ];
  for (const [what, c, l, p, at, reason] of refused) {
    const t = weighCorrelation(c, l, p, at);
    assert.equal(t.apply, 'none', what);
    assert.match((t as { reason: string }).reason, reason, what);
  }
});

test('capping at Soft keeps the reason and takes away the immediate quarantine', () => {
  const hard: Qualification = { category: 'user-unknown', failureType: 'Hard', failureReason: 'User unknown', disposition: 'fail-quarantine', ruleId: 'r' };
  assert.deepEqual(capAtSoft(hard), { ...hard, failureType: 'Soft', disposition: 'fail' });
  const ignored: Qualification = { ...hard, failureType: 'Ignored', disposition: 'ignore' };
  assert.deepEqual(capAtSoft(ignored), ignored);
});
