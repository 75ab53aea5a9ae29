/**
 * API keys limited to streams: the ids of the streams a key may send to and read, as a JSON
 * array, or null for a key that is not limited (every key made before).
 */
import type { Kysely } from 'kysely';

export async function migration0017(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('streams', 'text').execute();
}
