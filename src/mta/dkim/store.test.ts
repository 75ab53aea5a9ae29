import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../../db/testing.ts';
import { silentLogger } from '../../lib/logger.ts';
import { createDkimKey, deleteDkimKey, listDkimKeys, setDkimKeyActive } from './store.ts';
import { DkimFinalizer } from './finalizer.ts';
import { importDkimKey } from './keys.ts';
import type { InjectMessage } from '../spool.ts';

const message = (body: string): InjectMessage => ({ logId: 1, deliveryId: 1, mailFrom: 'b@x.test', rcptTo: 'a@y.test', messageId: null, body: Buffer.from(body), expiresAt: 0 });
const signatures = (m: InjectMessage) => (m.body.toString().match(/^DKIM-Signature: .*s=([a-z0-9.-]+);/gm) ?? []).map((l) => /s=([a-z0-9.-]+);/.exec(l)![1]);

test('keys: created per domain and selector, listed without private keys, selectors unique per domain', async () => {
  const { db, cleanup } = await createTestDb();
  try {
    const rsa = await createDkimKey(db, { domain: 'Shop.Example.', selector: 'S2026' });
    assert.equal(rsa.domain, 'shop.example');
    assert.equal(rsa.selector, 's2026');
    assert.equal(rsa.algorithm, 'rsa-sha256');
    assert.equal(rsa.active, true);
    assert.equal(rsa.dns.name, 's2026._domainkey.shop.example');
    assert.match(rsa.dns.value, /^v=DKIM1; k=rsa; p=MIIBIjAN/);
    assert.match(rsa.dns.zoneFile, /^s2026\._domainkey\.shop\.example\. IN TXT \( "v=DKIM1; k=rsa; p=[^"]{237}" "[^"]+" \)$/);
    const ed = await createDkimKey(db, { domain: 'shop.example', selector: 'e2026', algorithm: 'ed25519-sha256' });
    assert.match(ed.dns.value, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    await assert.rejects(createDkimKey(db, { domain: 'shop.example', selector: 's2026' }), /already has a key with selector "s2026"/);
    await assert.rejects(createDkimKey(db, { domain: 'not a domain', selector: 's1' }), /is not a domain name/);
    await assert.rejects(createDkimKey(db, { domain: 'shop.example', selector: 'bad_selector' }), /selector: "bad_selector" is not valid/);
    const listed = await listDkimKeys(db.kysely);
    assert.equal(listed.length, 2);
    assert.ok(!JSON.stringify(listed).includes('PRIVATE KEY'), 'no private key in a listing');
    assert.equal((await listDkimKeys(db.kysely, { domain: 'other.example' })).length, 0);
    const pem = importDkimKey((await db.kysely.selectFrom('dkim_keys').select('private_key').where('id', '=', ed.id).executeTakeFirstOrThrow()).private_key);
    const imported = await createDkimKey(db, { domain: 'other.example', selector: 'moved', privateKey: pem.privateKey });
    assert.equal(imported.algorithm, 'ed25519-sha256');
    assert.equal(imported.publicKey, ed.publicKey);
  } finally {
    await cleanup();
  }
});

test('the finalizer signs with every active key and follows activation and deletion on the next batch', async () => {
  const { db, cleanup } = await createTestDb();
  const finalizer = new DkimFinalizer({ db, logger: silentLogger, workers: 1 });
  try {
    const body = 'From: news@shop.example\r\nTo: a@y.test\r\nSubject: hi\r\n\r\nhello\r\n';
    assert.deepEqual(signatures((await finalizer.finalize([message(body)], 'shop.example'))[0]), [], 'no key: unsigned');
    const a = await createDkimKey(db, { domain: 'shop.example', selector: 'a', algorithm: 'ed25519-sha256' });
    const b = await createDkimKey(db, { domain: 'shop.example', selector: 'b', algorithm: 'rsa-sha256' });
    await createDkimKey(db, { domain: 'elsewhere.example', selector: 'c', algorithm: 'ed25519-sha256' });
    assert.deepEqual(signatures((await finalizer.finalize([message(body)], 'SHOP.example'))[0]), ['a', 'b']);
    await setDkimKeyActive(db, a.id, false);
    assert.deepEqual(signatures((await finalizer.finalize([message(body)], 'shop.example'))[0]), ['b']);
    await setDkimKeyActive(db, a.id, true);
    await deleteDkimKey(db, b.id);
    const out = await finalizer.finalize([message(body), message(body)], 'shop.example');
    assert.deepEqual(out.map(signatures), [['a'], ['a']]);
    assert.ok(out[0].body.toString().endsWith(body), 'the message follows its signatures unchanged');
    await assert.rejects(deleteDkimKey(db, b.id), /not found/);
  } finally {
    await finalizer.close();
    await cleanup();
  }
});

test('when the signing workers are gone, the finalizer signs on the main thread rather than send unsigned', async () => {
  const { db, cleanup } = await createTestDb();
  const finalizer = new DkimFinalizer({ db, logger: silentLogger, workers: 1 });
  try {
    await createDkimKey(db, { domain: 'shop.example', selector: 'a', algorithm: 'ed25519-sha256' });
    // Reach into the finalizer to break its pool, as a crashed worker would.
    await (finalizer as unknown as { pool: { close(): Promise<void> } }).pool.close();
    const [m] = await finalizer.finalize([message('From: news@shop.example\r\n\r\nhi\r\n')], 'shop.example');
    assert.deepEqual(signatures(m), ['a']);
  } finally {
    await finalizer.close();
    await cleanup();
  }
});
