/**
 * A small key/value table for instance-wide values the process generates once and keeps
 * (for example the signing secret when the configuration gives none).
 */
import type { Q } from './connect.ts';

export async function getSetting(q: Q, key: string): Promise<string | undefined> {
  const row = await q.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

export async function setSetting(q: Q, key: string, value: string): Promise<void> {
  await q
    .insertInto('settings')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}

/**
 * Writes `value` only if the key still holds `expected` (undefined: the key is absent), so two
 * processes racing for the same value (a lease, a cursor) cannot both win. True when it wrote.
 */
export async function compareAndSetSetting(q: Q, key: string, expected: string | undefined, value: string): Promise<boolean> {
  if (expected === undefined) {
    const r = await q.insertInto('settings').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }
  const r = await q.updateTable('settings').set({ value }).where('key', '=', key).where('value', '=', expected).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
