import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../db/testing.ts';
import { silentLogger } from '../lib/logger.ts';
import { createDkimKey } from './store.ts';
import { DkimSigner } from './signer.ts';

const SECRET = 'key-cache-test-secret-0123456789';
const message = (from: string) => ({ body: Buffer.from(`From: ${from}\r\nTo: a@b.test\r\nSubject: hi\r\n\r\nhello\r\n`) });

test("a subdomain without its own key is signed with its organizational domain's key (aligned); its own key wins", async () => {
  const { db, cleanup } = await createTestDb();
  const signer = new DkimSigner({ db, logger: silentLogger, secret: SECRET, workers: 0 });
  try {
    await createDkimKey(db, { domain: 'shop.test', selector: 'org' }, SECRET);
    const [viaOrg] = await signer.sign([message('news@news.shop.test')], 'news.shop.test');
    assert.match(viaOrg.body.toString(), /^DKIM-Signature:[^]*d=shop\.test;[^]*s=org;/);
    assert.equal((await signer.keys.keysAligned('other.test')).length, 0, 'another organization gets no key');

    await createDkimKey(db, { domain: 'news.shop.test', selector: 'own' }, SECRET);
    const [own] = await signer.sign([message('news@news.shop.test')], 'news.shop.test');
    assert.match(own.body.toString(), /d=news\.shop\.test;[^]*s=own;/);
    assert.doesNotMatch(own.body.toString(), /s=org;/);
  } finally {
    await signer.close();
    await cleanup();
  }
});
