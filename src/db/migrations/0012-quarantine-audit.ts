/**
 * The quarantine's audit trail: every change of an address's status, who made it (an
 * operator, the recipient who unsubscribed, the system after errors or a complaint) and why.
 */
import type { Kysely } from 'kysely';
import type { Db } from '../connect.ts';

export async function migration0012(db: Kysely<unknown>, dialect: Db['dialect']): Promise<void> {
  await db.schema
    .createTable('quarantine_audit')
    .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('quarantine_audit_address').on('quarantine_audit').columns(['address', 'id']).execute();
}
