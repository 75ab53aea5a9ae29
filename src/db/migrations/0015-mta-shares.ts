/**
 * What each MTA process has to send and what it takes of the MX rules: per site, the
 * messages it holds ready, its share of the rule's rates and the connections it may open
 * (JSON, written with every heartbeat). The shares follow the work instead of an even split.
 */
import { sql, type Kysely } from 'kysely';

export async function migration0015(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('mta_processes')
    .addColumn('shares', 'text', (c) => c.notNull().defaultTo(sql`'{}'`))
    .execute();
}
