/**
 * The first schema: deliveries, their targets and logs, counters and audit, the MTA spool,
 * the event outbox and the quarantine. Timestamps are epoch milliseconds (bigint).
 */
import { sql, type Kysely, type CreateTableBuilder } from 'kysely';
import type { Db } from '../connect.ts';

export async function migration0001(db: Kysely<unknown>, dialect: Db['dialect']): Promise<void> {
  const id = <T extends string>(t: CreateTableBuilder<T, never>) =>
    dialect === 'postgres'
      ? t.addColumn('id', 'bigserial', (c) => c.primaryKey())
      : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  const blob = dialect === 'postgres' ? 'bytea' : 'blob';

  await db.schema.createTable('settings').addColumn('key', 'text', (c) => c.primaryKey()).addColumn('value', 'text', (c) => c.notNull()).execute();

  await id(db.schema.createTable('deliveries'))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('state', 'integer', (c) => c.notNull())
    .addColumn('from_name', 'text', (c) => c.notNull())
    .addColumn('from_address', 'text', (c) => c.notNull())
    .addColumn('reply_to', 'text')
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('html', 'text')
    .addColumn('text', 'text')
    .addColumn('headers', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('unsubscribe_url', 'text')
    .addColumn('validity_ms', 'bigint', (c) => c.notNull())
    .addColumn('valid_until', 'bigint')
    .addColumn('content_version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('analyzed_version', 'integer')
    .addColumn('analysis', 'text')
    .addColumn('targeted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('to_deliver', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('excluded', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('confirmed_at', 'bigint')
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('sender_owner', 'text')
    .addColumn('sender_until', 'bigint')
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('deliveries_state').on('deliveries').columns(['state', 'id']).execute();

  await db.schema
    .createTable('delivery_targets')
    .addColumn('delivery_id', 'bigint', (c) => c.notNull().references('deliveries.id').onDelete('cascade'))
    .addColumn('row_no', 'integer', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('delivery_targets_pk', ['delivery_id', 'row_no'])
    .execute();

  await id(db.schema.createTable('delivery_logs'))
    .addColumn('delivery_id', 'bigint', (c) => c.notNull().references('deliveries.id').onDelete('cascade'))
    .addColumn('row_no', 'integer', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('failure_type', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failure_reason', 'integer')
    .addColumn('reply', 'text')
    .addColumn('message_id', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('event_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('sent_at', 'bigint')
    .addColumn('complained_at', 'bigint')
    .execute();
  await db.schema.createIndex('delivery_logs_status').on('delivery_logs').columns(['delivery_id', 'status', 'id']).execute();
  await db.schema.createIndex('delivery_logs_address').on('delivery_logs').columns(['address']).execute();
  await db.schema.createIndex('delivery_logs_row').on('delivery_logs').columns(['delivery_id', 'row_no']).execute();

  await db.schema
    .createTable('delivery_counters')
    .addColumn('delivery_id', 'bigint', (c) => c.notNull().references('deliveries.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('value', 'bigint', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('delivery_counters_pk', ['delivery_id', 'name'])
    .execute();

  await id(db.schema.createTable('delivery_audit'))
    .addColumn('delivery_id', 'bigint', (c) => c.notNull().references('deliveries.id').onDelete('cascade'))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('delivery_audit_delivery').on('delivery_audit').columns(['delivery_id', 'id']).execute();

  await id(db.schema.createTable('mta_queue'))
    .addColumn('log_id', 'bigint')
    .addColumn('delivery_id', 'bigint')
    .addColumn('queue', 'text', (c) => c.notNull())
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('mail_from', 'text', (c) => c.notNull())
    .addColumn('rcpt_to', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text')
    .addColumn('body', blob, (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('held', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('lease_owner', 'text')
    .addColumn('last_reply', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mta_queue_due').on('mta_queue').columns(['held', 'next_attempt_at']).execute();
  await db.schema.createIndex('mta_queue_delivery').on('mta_queue').columns(['delivery_id']).execute();

  await id(db.schema.createTable('events'))
    .addColumn('key', 'text', (c) => c.notNull().unique())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('log_id', 'bigint')
    .addColumn('delivery_id', 'bigint')
    .addColumn('occurred_at', 'bigint', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('applied_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await sql`create index events_unapplied on events (id) where applied_at is null`.execute(db);
  await db.schema.createIndex('events_log').on('events').columns(['log_id', 'id']).execute();

  await db.schema
    .createTable('quarantine')
    .addColumn('address', 'text', (c) => c.primaryKey())
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('failure_type', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failure_reason', 'integer')
    .addColumn('error_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error_at', 'bigint')
    .addColumn('last_significant_at', 'bigint')
    .addColumn('error_text', 'text')
    .addColumn('delivery_id', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('quarantine_domain').on('quarantine').columns(['domain', 'status', 'updated_at']).execute();
}
