/**
 * Names made public with webhooks and the event stream: event types are past-tense verbs
 * (async-bounce → bounced-async, complaint → complained, auto-reply → auto-replied), and the
 * MTA's spool table is called the spool (mta_queue → mta_spool), so that "queue" means only
 * the scheduled and ready queues in memory.
 */
import { sql, type Kysely } from 'kysely';

const EVENT_RENAMES: [string, string][] = [
  ['async-bounce', 'bounced-async'],
  ['complaint', 'complained'],
  ['auto-reply', 'auto-replied'],
];

export async function migration0009(db: Kysely<unknown>): Promise<void> {
  for (const [from, to] of EVENT_RENAMES) await sql`update events set type = ${to} where type = ${from}`.execute(db);
  await db.schema.alterTable('mta_queue').renameTo('mta_spool').execute();
}
