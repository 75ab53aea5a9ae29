/**
 * The MTA processes alive, each with its last heartbeat: MX rules' rates and connection
 * limits are split between them, so that several MTA processes on one PostgreSQL send to a
 * site no faster together than its rule says.
 */
import type { Kysely } from 'kysely';

export async function migration0008(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('mta_processes')
    .addColumn('owner', 'text', (c) => c.primaryKey())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
    .execute();
}
