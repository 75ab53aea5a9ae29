import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from './testing.ts';
import { ReusableStatement } from './reusable-statement.ts';

test('a reusable statement writes each run\'s values to their columns, in and out of transactions', async () => {
  const { db, cleanup } = await createTestDb();
  try {
    await db.kysely.insertInto('settings').values([{ key: 'a', value: 'one' }, { key: 'b', value: 'two' }]).execute();
    const setValue = new ReusableStatement<[value: string, key: string]>((q, [value, key]) => q.updateTable('settings').set({ value }).where('key', '=', key), ['v', 'k']);
    await setValue.run(db.kysely, ['uno', 'a']);
    await db.tx((trx) => setValue.run(trx, ['dos', 'b']));
    const rows = await db.kysely.selectFrom('settings').selectAll().where('key', 'in', ['a', 'b']).orderBy('key').execute();
    assert.deepEqual(rows, [
      { key: 'a', value: 'uno' },
      { key: 'b', value: 'dos' },
    ]);
  } finally {
    await cleanup();
  }
});

test('values given in an order the compiled statement does not follow are refused before anything is written', async () => {
  const { db, cleanup } = await createTestDb();
  try {
    await db.kysely.insertInto('settings').values({ key: 'a', value: 'one' }).execute();
    // The sample says (key, value), but the statement's parameters come out as (value, key).
    const swapped = new ReusableStatement<[key: string, value: string]>((q, [key, value]) => q.updateTable('settings').set({ value }).where('key', '=', key), ['k', 'v']);
    await assert.rejects(swapped.run(db.kysely, ['a', 'uno']), /not in the order given/);
    assert.equal((await db.kysely.selectFrom('settings').select('value').where('key', '=', 'a').executeTakeFirst())?.value, 'one');
  } finally {
    await cleanup();
  }
});
