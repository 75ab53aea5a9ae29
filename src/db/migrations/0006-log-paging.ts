/**
 * Paging a delivery's logs in id order (the API's keyset) needs an index on (delivery, id);
 * the (delivery, row) index it replaces served no query.
 */
import type { Kysely } from 'kysely';

export async function migration0006(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('delivery_logs_row').execute();
  await db.schema.createIndex('delivery_logs_delivery').on('delivery_logs').columns(['delivery_id', 'id']).execute();
}
