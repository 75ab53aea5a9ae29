/**
 * DKIM keys in the database: create (generated, or an imported PEM), list, activate,
 * deactivate, delete. Every change bumps a version in the settings table in the same
 * transaction, so the signers in every process reload their keys on their next batch.
 * Lists carry public keys and DNS records only; the private key is read by `activeKeys`,
 * for the signer, and by nothing else. Private keys are stored sealed with the instance's
 * secret (lib/sealed.ts), bound to their domain and selector.
 */
import { domainToASCII } from 'node:url';
import type { Db, Q } from '../db/index.ts';
import { getSetting, setSetting } from '../db/index.ts';
import { EstafetaError, invalidInput, notFound } from '../lib/errors.ts';
import { randomToken } from '../lib/ids.ts';
import { isSealed, open, seal } from '../lib/sealed.ts';
import { dnsRecordName, dnsRecordValue, generateDkimKey, importDkimKey, zoneFileLine } from './keys.ts';
import type { DkimAlgorithm } from './sign.ts';

export interface DkimKeyInfo {
  id: number;
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  publicKey: string;
  active: boolean;
  createdAt: string;
  updatedAt: string;
  dns: { name: string; type: 'TXT'; value: string; zoneFile: string };
}

export interface ActiveKeyRow {
  id: number;
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKey: string;
}

export interface CreateKeyInput {
  domain: string;
  selector: string;
  algorithm?: DkimAlgorithm;
  /** An existing PEM private key to import instead of generating one. */
  privateKey?: string;
}

const VERSION_KEY = 'dkim.keys.version';

export function normalizeDomain(domain: string): string {
  const d = domainToASCII(domain.trim().replace(/\.$/, '').toLowerCase());
  if (!d || !/^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/.test(d)) throw invalidInput(`domain: "${domain}" is not a domain name`);
  return d;
}

/** RFC 6376 selectors are DNS labels, dot-separated (e.g. "s2026" or "mta1.2026"). */
export function normalizeSelector(selector: string): string {
  const s = selector.trim().toLowerCase();
  if (!/^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$/.test(s)) throw invalidInput(`selector: "${selector}" is not valid; use letters, digits and hyphens (e.g. s2026)`);
  return s;
}

const PURPOSE = 'dkim-private-key';
const sealContext = (domain: string, selector: string) => `${selector}._domainkey.${domain}`;

export async function createDkimKey(db: Db, input: CreateKeyInput, secret: string): Promise<DkimKeyInfo> {
  const domain = normalizeDomain(input.domain);
  const selector = normalizeSelector(input.selector);
  await assertFree(db.kysely, domain, selector);
  const material = input.privateKey ? importDkimKey(input.privateKey, input.algorithm) : await generateDkimKey(input.algorithm ?? 'rsa-sha256');
  const now = Date.now();
  const id = await db.tx(async (trx) => {
    await assertFree(trx, domain, selector);
    const row = await trx
      .insertInto('dkim_keys')
      .values({ domain, selector, algorithm: material.algorithm, private_key: seal(secret, PURPOSE, sealContext(domain, selector), material.privateKey), public_key: material.publicKey, active: 1, created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    await bumpVersion(trx);
    return Number(row.id);
  });
  changesHere++;
  return getDkimKey(db.kysely, id);
}

async function assertFree(q: Q, domain: string, selector: string): Promise<void> {
  const taken = await q.selectFrom('dkim_keys').select('id').where('domain', '=', domain).where('selector', '=', selector).executeTakeFirst();
  if (taken) throw new EstafetaError('CONFLICT', `${domain} already has a key with selector "${selector}" (key ${taken.id}); choose another selector, or delete that key first`);
}

export async function listDkimKeys(q: Q, filter: { domain?: string } = {}): Promise<DkimKeyInfo[]> {
  let query = q.selectFrom('dkim_keys').select(['id', 'domain', 'selector', 'algorithm', 'public_key', 'active', 'created_at', 'updated_at']).orderBy('domain').orderBy('id');
  if (filter.domain) query = query.where('domain', '=', normalizeDomain(filter.domain));
  return (await query.execute()).map(toInfo);
}

export async function getDkimKey(q: Q, id: number): Promise<DkimKeyInfo> {
  const row = await q.selectFrom('dkim_keys').select(['id', 'domain', 'selector', 'algorithm', 'public_key', 'active', 'created_at', 'updated_at']).where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`DKIM key ${id}`);
  return toInfo(row);
}

export async function setDkimKeyActive(db: Db, id: number, active: boolean): Promise<DkimKeyInfo> {
  await db.tx(async (trx) => {
    const r = await trx.updateTable('dkim_keys').set({ active: active ? 1 : 0, updated_at: Date.now() }).where('id', '=', id).executeTakeFirst();
    if (!Number(r.numUpdatedRows)) throw notFound(`DKIM key ${id}`);
    await bumpVersion(trx);
  });
  changesHere++;
  return getDkimKey(db.kysely, id);
}

export async function deleteDkimKey(db: Db, id: number): Promise<void> {
  await db.tx(async (trx) => {
    const r = await trx.deleteFrom('dkim_keys').where('id', '=', id).executeTakeFirst();
    if (!Number(r.numDeletedRows)) throw notFound(`DKIM key ${id}`);
    await bumpVersion(trx);
  });
  changesHere++;
}

/**
 * For the signer only: every active key, private key included. A key that does not open
 * with this secret is an error, not a message sent unsigned.
 */
export async function activeKeys(q: Q, secret: string): Promise<ActiveKeyRow[]> {
  const rows = await q.selectFrom('dkim_keys').select(['id', 'domain', 'selector', 'algorithm', 'private_key']).where('active', '=', 1).orderBy('id').execute();
  return rows.map((r) => {
    const privateKey = open(secret, PURPOSE, sealContext(r.domain, r.selector), r.private_key);
    if (privateKey === null) {
      throw new EstafetaError('CONFIG', `DKIM key ${r.id} (${r.selector}._domainkey.${r.domain}) does not open with this instance's secret: start Estafeta with the secret it was created with (ESTAFETA_SECRET), or deactivate the key and create a new one`);
    }
    return { id: Number(r.id), domain: r.domain, selector: r.selector, algorithm: r.algorithm as DkimAlgorithm, privateKey };
  });
}

/** Seals private keys stored before keys were sealed; returns how many. Run at startup. */
export async function sealStoredKeys(db: Db, secret: string): Promise<number> {
  const rows = await db.kysely.selectFrom('dkim_keys').select(['id', 'domain', 'selector', 'private_key']).execute();
  let sealed = 0;
  for (const r of rows) {
    if (isSealed(r.private_key)) continue;
    await db.kysely
      .updateTable('dkim_keys')
      .set({ private_key: seal(secret, PURPOSE, sealContext(r.domain, r.selector), r.private_key) })
      .where('id', '=', r.id)
      .where('private_key', '=', r.private_key)
      .execute();
    sealed++;
  }
  return sealed;
}

/** Changes whenever a key is created, (de)activated or deleted. */
export async function keysVersion(q: Q): Promise<string> {
  return (await getSetting(q, VERSION_KEY)) ?? '';
}

let changesHere = 0;

/** Key changes committed through this process (its caches need not wait to see them). */
export function keyChangesHere(): number {
  return changesHere;
}

async function bumpVersion(q: Q): Promise<void> {
  await setSetting(q, VERSION_KEY, randomToken(8));
}

type KeyRow = { id: number; domain: string; selector: string; algorithm: string; public_key: string; active: number; created_at: number; updated_at: number };

function toInfo(r: KeyRow): DkimKeyInfo {
  const algorithm = r.algorithm as DkimAlgorithm;
  const value = dnsRecordValue(algorithm, r.public_key);
  return {
    id: Number(r.id),
    domain: r.domain,
    selector: r.selector,
    algorithm,
    publicKey: r.public_key,
    active: Number(r.active) === 1,
    createdAt: new Date(Number(r.created_at)).toISOString(),
    updatedAt: new Date(Number(r.updated_at)).toISOString(),
    dns: { name: dnsRecordName(r.selector, r.domain), type: 'TXT', value, zoneFile: zoneFileLine(r.selector, r.domain, value) },
  };
}
