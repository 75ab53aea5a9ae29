import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../db/testing.ts';
import { createDelivery } from './store.ts';
import { firstLogIdSince } from './log-window.ts';

const t = await createTestDb();
after(() => t.cleanup());
const q = t.db.kysely;
const defaults = { defaultValidityMs: 3_600_000, maxValidityMs: 86_400_000 };
const make = (label: string) => createDelivery(t.db, { label, from: { name: 'Shop', address: 'news@shop.test' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', validity: '1h', recipients: [{ email: 'a@example.com' }] }, defaults);

test("the window's first log is found among another delivery's logs, at every edge", async () => {
  const [a, b] = [await make('a'), await make('b')];
  const ids: { id: number; at: number }[] = [];
  // a's logs written at 1,000, 2,000, … with b's logs between them.
  for (let i = 1; i <= 40; i++) {
    for (const [d, at] of [[a.id, i * 1000], [b.id, i * 1000 + 500]] as const) {
      const row = await q.insertInto('delivery_logs').values({ delivery_id: d, row_no: i, address: `r${i}@example.com`, domain: 'example.com', status: 0, failure_type: 0, attempts: 0, event_at: at, created_at: at, updated_at: at }).returning('id').executeTakeFirstOrThrow();
      if (d === a.id) ids.push({ id: Number(row.id), at });
    }
  }
  for (const from of [0, 1000, 1001, 17_000, 17_400, 39_999, 40_000]) {
    const expected = ids.find((l) => l.at >= from)!.id;
    assert.equal(await firstLogIdSince(q, a.id, from), expected, `from ${from}`);
  }
  assert.equal(await firstLogIdSince(q, a.id, 40_001), null, 'nothing in the window');
  assert.equal(await firstLogIdSince(q, (await make('empty')).id, 0), null, 'a delivery without logs');
});
