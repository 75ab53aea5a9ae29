/**
 * On PostgreSQL, Estafeta's connections store large values (spooled message bodies) with lz4
 * rather than the server's default pglz, which cost a sixth of the server's CPU in the
 * benchmark (connect.ts). Skipped on SQLite, and where the server has no lz4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createTestDb, isPostgresTest } from './testing.ts';

test('a spooled body is stored lz4-compressed on PostgreSQL', { skip: !isPostgresTest() && 'PostgreSQL only (DATABASE_URL)' }, async (t) => {
  const { db, cleanup } = await createTestDb();
  try {
    const lz4 = await sql<{ ok: boolean }>`select 'lz4' = any(enumvals) as ok from pg_settings where name = 'default_toast_compression'`.execute(db.kysely);
    if (!lz4.rows[0]?.ok) return t.skip('this server has no lz4');
    const body = Buffer.from('<p>Hello, the autumn selection is here.</p>\r\n'.repeat(300));
    await db.kysely.insertInto('mta_bodies').values({ id: 1, body }).execute();
    const r = await sql<{ method: string; body: Buffer }>`select pg_column_compression(body) as method, body from mta_bodies where id = 1`.execute(db.kysely);
    assert.equal(r.rows[0].method, 'lz4');
    assert.ok(Buffer.from(r.rows[0].body).equals(body));
  } finally {
    await cleanup();
  }
});
