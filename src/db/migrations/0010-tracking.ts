/**
 * Opens, clicks and unsubscriptions: per delivery whether links and opens are tracked and the
 * links found in its content (Campaign's tracked URLs); per log the first human open and
 * click and the links it clicked (for unique counts); per event a note the feedback service
 * adds when it judges an event (an open or click made by a machine, and why).
 */
import type { Kysely } from 'kysely';

export async function migration0010(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deliveries').addColumn('tracking', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await db.schema.alterTable('deliveries').addColumn('track_text_links', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('delivery_logs').addColumn('opened_at', 'bigint').execute();
  await db.schema.alterTable('delivery_logs').addColumn('clicked_at', 'bigint').execute();
  await db.schema.alterTable('delivery_logs').addColumn('clicked_links', 'text').execute();
  await db.schema.alterTable('events').addColumn('note', 'text').execute();
  await db.schema
    .createTable('delivery_links')
    .addColumn('delivery_id', 'bigint', (c) => c.notNull())
    .addColumn('link_id', 'integer', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('part', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('personalized', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('delivery_links_pk', ['delivery_id', 'link_id'])
    .execute();
}
