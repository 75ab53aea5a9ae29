/**
 * Traffic shaping state: adaptations in force (suspensions and throttles the MTA decided from
 * providers' replies, or an operator set), daily sending counts per IP and provider for the
 * warm-up caps, each spooled message's sending pool and why it is waiting, and each
 * delivery's pool.
 */
import type { Kysely, CreateTableBuilder } from 'kysely';
import type { Db } from '../connect.ts';

export async function migration0005(db: Kysely<unknown>, dialect: Db['dialect']): Promise<void> {
  const id = <T extends string>(t: CreateTableBuilder<T, never>) =>
    dialect === 'postgres' ? t.addColumn('id', 'bigserial', (c) => c.primaryKey()) : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());

  await id(db.schema.createTable('mta_adaptations'))
    .addColumn('site', 'text', (c) => c.notNull())
    .addColumn('source', 'text')
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('factor', 'real')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('until', 'bigint', (c) => c.notNull())
    .addColumn('recovery_ms', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('cancelled_at', 'bigint')
    .addColumn('cancelled_by', 'text')
    .execute();
  await db.schema.createIndex('mta_adaptations_until').on('mta_adaptations').columns(['until']).execute();

  await db.schema
    .createTable('mta_ip_usage')
    .addColumn('day', 'integer', (c) => c.notNull())
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('sent', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('mta_ip_usage_pk', ['day', 'ip', 'provider'])
    .execute();

  await db.schema.alterTable('mta_queue').addColumn('pool', 'text').execute();
  await db.schema.alterTable('mta_queue').addColumn('wait_reason', 'text').execute();
  await db.schema.alterTable('deliveries').addColumn('ip_pool', 'text').execute();
}
