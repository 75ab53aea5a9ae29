/**
 * Message streams: a stream is a row of `deliveries` whose kind is 'stream' (deliveries
 * keep 'bulk'), with its options (sender domains, quarantine, List-Unsubscribe) as JSON.
 * And the send API's idempotency keys: the first answer to a call, kept 24 hours per
 * caller and key, so a retried call gets it again without sending twice.
 */
import type { Kysely } from 'kysely';
import type { Db } from '../connect.ts';

export async function migration0013(db: Kysely<unknown>, _dialect: Db['dialect']): Promise<void> {
  await db.schema.alterTable('deliveries').addColumn('kind', 'text', (c) => c.notNull().defaultTo('bulk')).execute();
  await db.schema.alterTable('deliveries').addColumn('stream_options', 'text').execute();
  await db.schema.createIndex('deliveries_kind').on('deliveries').columns(['kind', 'id']).execute();
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('principal', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('response', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['principal', 'key'])
    .execute();
  await db.schema.createIndex('idempotency_keys_created').on('idempotency_keys').columns(['created_at']).execute();
}
