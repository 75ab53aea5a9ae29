import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../db/testing.ts';
import { silentLogger } from '../lib/logger.ts';
import { createDkimKey, setDkimKeyActive } from './store.ts';
import { KEY_VERSION_TTL_MS } from './key-cache.ts';
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

test('a key changed through this process stops signing at once; changed by another process, within a second', async () => {
  const { db, cleanup } = await createTestDb();
  const signer = new DkimSigner({ db, logger: silentLogger, secret: SECRET, workers: 0 });
  const signs = async () => /^DKIM-Signature:/.test((await signer.sign([message('a@fresh.test')], 'fresh.test'))[0].body.toString());
  try {
    const key = await createDkimKey(db, { domain: 'fresh.test', selector: 's1' }, SECRET);
    assert.equal(await signs(), true, 'a key created here signs the next message');
    await setDkimKeyActive(db, key.id, false);
    assert.equal(await signs(), false, 'deactivated here: the next message goes unsigned');

    await setDkimKeyActive(db, key.id, true);
    assert.equal(await signs(), true);
    // Another process deactivates it: the rows change, not this process's count of changes.
    await db.kysely.updateTable('dkim_keys').set({ active: 0 }).where('id', '=', key.id).execute();
    await db.kysely.updateTable('settings').set({ value: 'changed-elsewhere' }).where('key', '=', 'dkim.keys.version').execute();
    await new Promise((r) => setTimeout(r, KEY_VERSION_TTL_MS + 100));
    assert.equal(await signs(), false, 'seen once the version read is a second old');
  } finally {
    await signer.close();
    await cleanup();
  }
});
