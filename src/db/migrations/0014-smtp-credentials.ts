/**
 * SMTP submission's credentials: a user name and the SHA-256 of a random password per
 * stream (the password is shown once, when created, like an API key), so an application
 * that authenticates with them may submit mail to that stream only.
 */
import type { CreateTableBuilder, Kysely } from 'kysely';
import type { Db } from '../connect.ts';

export async function migration0014(db: Kysely<unknown>, dialect: Db['dialect']): Promise<void> {
  const id = <T extends string>(t: CreateTableBuilder<T, never>) =>
    dialect === 'postgres' ? t.addColumn('id', 'bigserial', (c) => c.primaryKey()) : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  await id(db.schema.createTable('smtp_credentials'))
    .addColumn('stream_id', 'bigint', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema.createIndex('smtp_credentials_stream').on('smtp_credentials').columns(['stream_id']).execute();
}
