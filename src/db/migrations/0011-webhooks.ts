/**
 * Webhooks: the endpoints operators register (a URL, a sealed signing secret, the event
 * types and the delivery they want, a durable cursor into the events table, the retry state
 * and a lease so one process at a time posts to an endpoint) and the attempts made to each
 * (kept to the last 1,000 per endpoint by webhooks/store.ts).
 */
import type { Kysely, CreateTableBuilder } from 'kysely';
import type { Db } from '../connect.ts';

export async function migration0011(db: Kysely<unknown>, dialect: Db['dialect']): Promise<void> {
  const id = <T extends string>(t: CreateTableBuilder<T, never>) =>
    dialect === 'postgres' ? t.addColumn('id', 'bigserial', (c) => c.primaryKey()) : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  await id(db.schema.createTable('webhook_endpoints'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('event_types', 'text')
    .addColumn('delivery_id', 'bigint')
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('disabled_reason', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('cursor', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failing_since', 'bigint')
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await id(db.schema.createTable('webhook_attempts'))
    .addColumn('endpoint_id', 'bigint', (c) => c.notNull())
    .addColumn('first_event_id', 'bigint')
    .addColumn('last_event_id', 'bigint')
    .addColumn('events', 'integer', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('latency_ms', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhook_attempts_endpoint').on('webhook_attempts').columns(['endpoint_id', 'id']).execute();
}
