import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from '../db/testing.ts';
import { silentLogger } from '../lib/logger.ts';
import { activeKeys, createDkimKey, deleteDkimKey, listDkimKeys, sealStoredKeys, setDkimKeyActive } from './store.ts';
import { DkimSigner } from './signer.ts';
import { importDkimKey } from './keys.ts';

const SECRET = 'the-instance-secret-for-these-tests';
interface Message { logId: number; body: Buffer }
const message = (body: string): Message => ({ logId: 1, body: Buffer.from(body) });
const signatures = (m: Message) => (m.body.toString().match(/^DKIM-Signature: .*s=([a-z0-9.-]+);/gm) ?? []).map((l) => /s=([a-z0-9.-]+);/.exec(l)![1]);

test('keys: created per domain and selector, listed without private keys, selectors unique per domain', async () => {
  const { db, cleanup } = await createTestDb();
  try {
    const rsa = await createDkimKey(db, { domain: 'Shop.Example.', selector: 'S2026' }, SECRET);
    assert.equal(rsa.domain, 'shop.example');
    assert.equal(rsa.selector, 's2026');
    assert.equal(rsa.algorithm, 'rsa-sha256');
    assert.equal(rsa.active, true);
    assert.equal(rsa.dns.name, 's2026._domainkey.shop.example');
    assert.match(rsa.dns.value, /^v=DKIM1; k=rsa; p=MIIBIjAN/);
    assert.match(rsa.dns.zoneFile, /^s2026\._domainkey\.shop\.example\. IN TXT \( "v=DKIM1; k=rsa; p=[^"]{237}" "[^"]+" \)$/);
    const ed = await createDkimKey(db, { domain: 'shop.example', selector: 'e2026', algorithm: 'ed25519-sha256' }, SECRET);
    assert.match(ed.dns.value, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    await assert.rejects(createDkimKey(db, { domain: 'shop.example', selector: 's2026' }, SECRET), /already has a key with selector "s2026"/);
    await assert.rejects(createDkimKey(db, { domain: 'not a domain', selector: 's1' }, SECRET), /is not a domain name/);
    await assert.rejects(createDkimKey(db, { domain: 'shop.example', selector: 'bad_selector' }, SECRET), /selector: "bad_selector" is not valid/);
    const listed = await listDkimKeys(db.kysely);
    assert.equal(listed.length, 2);
    assert.ok(!JSON.stringify(listed).includes('PRIVATE KEY'), 'no private key in a listing');
    assert.equal((await listDkimKeys(db.kysely, { domain: 'other.example' })).length, 0);
    const pem = importDkimKey((await activeKeys(db.kysely, SECRET)).find((k) => k.id === ed.id)!.privateKey);
    const imported = await createDkimKey(db, { domain: 'other.example', selector: 'moved', privateKey: pem.privateKey }, SECRET);
    assert.equal(imported.algorithm, 'ed25519-sha256');
    assert.equal(imported.publicKey, ed.publicKey);
  } finally {
    await cleanup();
  }
});

test('the signer signs with every active key and follows activation and deletion on the next batch', async () => {
  const { db, cleanup } = await createTestDb();
  const signer = new DkimSigner({ db, logger: silentLogger, workers: 1, secret: SECRET });
  try {
    const body = 'From: news@shop.example\r\nTo: a@y.test\r\nSubject: hi\r\n\r\nhello\r\n';
    assert.deepEqual(signatures((await signer.sign([message(body)], 'shop.example'))[0]), [], 'no key: unsigned');
    const a = await createDkimKey(db, { domain: 'shop.example', selector: 'a', algorithm: 'ed25519-sha256' }, SECRET);
    const b = await createDkimKey(db, { domain: 'shop.example', selector: 'b', algorithm: 'rsa-sha256' }, SECRET);
    await createDkimKey(db, { domain: 'elsewhere.example', selector: 'c', algorithm: 'ed25519-sha256' }, SECRET);
    assert.deepEqual(signatures((await signer.sign([message(body)], 'SHOP.example'))[0]), ['a', 'b']);
    await setDkimKeyActive(db, a.id, false);
    assert.deepEqual(signatures((await signer.sign([message(body)], 'shop.example'))[0]), ['b']);
    await setDkimKeyActive(db, a.id, true);
    await deleteDkimKey(db, b.id);
    const out = await signer.sign([message(body), message(body)], 'shop.example');
    assert.deepEqual(out.map(signatures), [['a'], ['a']]);
    assert.ok(out[0].body.toString().endsWith(body), 'the message follows its signatures unchanged');
    await assert.rejects(deleteDkimKey(db, b.id), /not found/);
  } finally {
    await signer.close();
    await cleanup();
  }
});

test('when the signing workers are gone, the signer signs on the main thread rather than send unsigned', async () => {
  const { db, cleanup } = await createTestDb();
  const signer = new DkimSigner({ db, logger: silentLogger, workers: 1, secret: SECRET });
  try {
    await createDkimKey(db, { domain: 'shop.example', selector: 'a', algorithm: 'ed25519-sha256' }, SECRET);
    // Reach into the signer to break its pool, as a crashed worker would.
    await (signer as unknown as { pool: { close(): Promise<void> } }).pool.close();
    const [m] = await signer.sign([message('From: news@shop.example\r\n\r\nhi\r\n')], 'shop.example');
    assert.deepEqual(signatures(m), ['a']);
  } finally {
    await signer.close();
    await cleanup();
  }
});

test('private keys are stored sealed with the instance secret: a dump does not show them, another secret does not open them', async () => {
  const { db, cleanup } = await createTestDb();
  try {
    const k = await createDkimKey(db, { domain: 'shop.example', selector: 's1' }, SECRET);
    const stored = (await db.kysely.selectFrom('dkim_keys').select('private_key').where('id', '=', k.id).executeTakeFirstOrThrow()).private_key;
    assert.match(stored, /^sealed:v1:/);
    assert.ok(!stored.includes('PRIVATE KEY'));
    const [opened] = await activeKeys(db.kysely, SECRET);
    assert.match(opened.privateKey, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(importDkimKey(opened.privateKey).publicKey, k.publicKey);
    await assert.rejects(activeKeys(db.kysely, 'another-secret'), /DKIM key \d+ \(s1\._domainkey\.shop\.example\) does not open with this instance's secret: start Estafeta with the secret it was created with/);

    // A sealed key copied onto another domain's row does not open there.
    const other = await createDkimKey(db, { domain: 'other.example', selector: 's1' }, SECRET);
    await db.kysely.updateTable('dkim_keys').set({ private_key: stored }).where('id', '=', other.id).execute();
    await assert.rejects(activeKeys(db.kysely, SECRET), /other\.example/);
  } finally {
    await cleanup();
  }
});

test('keys stored in clear before sealing existed are sealed at startup and sign as before', async () => {
  const { db, cleanup } = await createTestDb();
  const signer = new DkimSigner({ db, logger: silentLogger, workers: 0, secret: SECRET });
  try {
    const k = await createDkimKey(db, { domain: 'shop.example', selector: 'old', algorithm: 'ed25519-sha256' }, SECRET);
    const [clear] = await activeKeys(db.kysely, SECRET);
    await db.kysely.updateTable('dkim_keys').set({ private_key: clear.privateKey }).where('id', '=', k.id).execute();
    assert.equal(await sealStoredKeys(db, SECRET), 1);
    assert.equal(await sealStoredKeys(db, SECRET), 0, 'sealing twice changes nothing');
    assert.match((await db.kysely.selectFrom('dkim_keys').select('private_key').executeTakeFirstOrThrow()).private_key, /^sealed:v1:/);
    const [m] = await signer.sign([message('From: news@shop.example\r\n\r\nhi\r\n')], 'shop.example');
    assert.deepEqual(signatures(m), ['old']);
  } finally {
    await signer.close();
    await cleanup();
  }
});
