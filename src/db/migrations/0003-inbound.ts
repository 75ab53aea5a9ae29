/**
 * Inbound mail (bounces, complaints, auto-replies received on the return path), the bounce
 * qualification table (Campaign's delivery log qualification), and quarantine incidents
 * (the outage guard's record of domains whose hard bounces looked like a provider outage).
 */
import { sql, type Kysely, type CreateTableBuilder } from 'kysely';
import type { Db } from '../connect.ts';

export async function migration0003(db: Kysely<unknown>, dialect: Db['dialect']): Promise<void> {
  const id = <T extends string>(t: CreateTableBuilder<T, never>) =>
    dialect === 'postgres' ? t.addColumn('id', 'bigserial', (c) => c.primaryKey()) : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  const blob = dialect === 'postgres' ? 'bytea' : 'blob';

  await id(db.schema.createTable('inbound_mails'))
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('mail_from', 'text', (c) => c.notNull())
    .addColumn('rcpt_to', 'text', (c) => c.notNull())
    .addColumn('remote_ip', 'text')
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('raw', blob, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('kind', 'text')
    .addColumn('log_id', 'bigint')
    .addColumn('detail', 'text')
    .addColumn('processed_at', 'bigint')
    .execute();
  await sql`create index inbound_mails_pending on inbound_mails (id) where processed_at is null`.execute(db);
  await db.schema.createIndex('inbound_mails_status').on('inbound_mails').columns(['status', 'id']).execute();

  await db.schema
    .createTable('bounce_qualifications')
    .addColumn('text_key', 'text', (c) => c.primaryKey())
    .addColumn('first_text', 'text', (c) => c.notNull())
    .addColumn('occurrences', 'integer', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('failure_type', 'integer', (c) => c.notNull())
    .addColumn('failure_reason', 'integer')
    .addColumn('rule_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('qualified_by', 'text')
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('bounce_qualifications_status').on('bounce_qualifications').columns(['status', 'last_seen']).execute();

  // The outage guard compares a domain's recent hard-bounce rate with its history.
  await db.schema.createIndex('delivery_logs_domain').on('delivery_logs').columns(['domain', 'event_at']).execute();

  await id(db.schema.createTable('quarantine_incidents'))
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('until', 'bigint', (c) => c.notNull())
    .addColumn('hard_rate', 'real', (c) => c.notNull())
    .addColumn('baseline_rate', 'real', (c) => c.notNull())
    .addColumn('held', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('resolution', 'text')
    .addColumn('resolved_at', 'bigint')
    .addColumn('resolved_by', 'text')
    .execute();
  await db.schema.createIndex('quarantine_incidents_domain').on('quarantine_incidents').columns(['domain', 'started_at']).execute();
}
