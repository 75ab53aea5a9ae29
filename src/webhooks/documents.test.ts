import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../db/testing.ts';
import { createDelivery } from '../deliveries/index.ts';
import { recordLinks } from '../deliveries/links.ts';
import { buildDocuments, type RawEvent } from './documents.ts';

const t = await createTestDb();
after(() => t.cleanup());

test("a click's document names the URL followed: the delivery's link, or the URL the click carried", async () => {
  const d = await createDelivery(t.db, { label: 'links', from: { name: 'Shop', address: 'news@shop.test' }, subject: 'Hi', html: '<a href="https://shop.test/sale">sale</a> {{ unsubscribeUrl }}', validity: '1h', recipients: [{ email: 'a@example.com' }] }, { defaultValidityMs: 3_600_000, maxValidityMs: 86_400_000 });
  await recordLinks(t.db.kysely, d.id, [{ id: 1, url: 'https://shop.test/sale', label: 'sale', part: 'html', position: 1, personalized: false }]);
  const event = (id: number, payload: Record<string, unknown>): RawEvent => ({ id, type: 'clicked', log_id: null, delivery_id: d.id, occurred_at: 1_000, payload: JSON.stringify(payload), note: null });
  const docs = await buildDocuments(t.db.kysely, 'secret', [event(1, { linkId: 1 }), event(2, { linkId: 2, url: 'https://shop.test/me?u=7' }), event(3, { linkId: 9 })]);
  assert.deepEqual(docs.map((doc) => doc.url), ['https://shop.test/sale', 'https://shop.test/me?u=7', null]);
});
