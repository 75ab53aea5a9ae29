/**
 * Message bodies move out of the spool rows into their own table: SQLite rewrites a whole
 * row, blob included, on every update, so claiming, renewing a lease or rescheduling a
 * 10 KB message cost a 10 KB write each. Bodies are written once and deleted once.
 */
import { sql, type Kysely } from 'kysely';
import type { Db } from '../connect.ts';

export async function migration0007(db: Kysely<unknown>, dialect: Db['dialect']): Promise<void> {
  await db.schema
    .createTable('mta_bodies')
    .addColumn('id', 'bigint', (c) => c.primaryKey())
    .addColumn('body', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
    .execute();
  await sql`insert into mta_bodies (id, body) select id, body from mta_queue`.execute(db);
  await db.schema.alterTable('mta_queue').dropColumn('body').execute();
}
