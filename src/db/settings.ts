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
