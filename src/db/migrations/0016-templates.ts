/**
 * Stored templates of the send API: a name, a subject, HTML and text with personalization
 * (the same liquid syntax as a delivery's content), which a message names instead of giving
 * its content, with the data to fill in.
 */
import type { CreateTableBuilder, Kysely } from 'kysely';
import type { Db } from '../connect.ts';

export async function migration0016(db: Kysely<unknown>, dialect: Db['dialect']): Promise<void> {
  const id = <T extends string>(t: CreateTableBuilder<T, never>) =>
    dialect === 'postgres' ? t.addColumn('id', 'bigserial', (c) => c.primaryKey()) : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  await id(db.schema.createTable('message_templates'))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('html', 'text')
    .addColumn('text', 'text')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}
