/**
 * Numbered migrations, run in order with Kysely's Migrator. Each migration is a TS module
 * in db/migrations that may branch on the dialect where SQLite and PostgreSQL differ.
 */
import { Migrator, sql, type Migration, type MigrationProvider, type Kysely } from 'kysely';
import type { Db } from './connect.ts';
import { migration0001 } from './migrations/0001-init.ts';
import { migration0002 } from './migrations/0002-dkim.ts';
import { migration0003 } from './migrations/0003-inbound.ts';
import { migration0004 } from './migrations/0004-auth.ts';
import { migration0005 } from './migrations/0005-shaping.ts';
import { migration0006 } from './migrations/0006-log-paging.ts';
import { migration0007 } from './migrations/0007-spool-bodies.ts';
import { migration0008 } from './migrations/0008-mta-peers.ts';
import { migration0009 } from './migrations/0009-names.ts';
import { migration0010 } from './migrations/0010-tracking.ts';
import { migration0011 } from './migrations/0011-webhooks.ts';
import { migration0012 } from './migrations/0012-quarantine-audit.ts';
import { migration0013 } from './migrations/0013-streams.ts';
import { migration0014 } from './migrations/0014-smtp-credentials.ts';
import { migration0015 } from './migrations/0015-mta-shares.ts';
import { migration0016 } from './migrations/0016-templates.ts';
import { migration0017 } from './migrations/0017-api-key-streams.ts';

export type DialectMigration = (db: Kysely<unknown>, dialect: Db['dialect']) => Promise<void>;

const MIGRATIONS: [string, DialectMigration][] = [
  ['0001-init', migration0001],
  ['0002-dkim', migration0002],
  ['0003-inbound', migration0003],
  ['0004-auth', migration0004],
  ['0005-shaping', migration0005],
  ['0006-log-paging', (db) => migration0006(db)],
  ['0007-spool-bodies', migration0007],
  ['0008-mta-peers', (db) => migration0008(db)],
  ['0009-names', (db) => migration0009(db)],
  ['0010-tracking', (db) => migration0010(db)],
  ['0011-webhooks', migration0011],
  ['0012-quarantine-audit', migration0012],
  ['0013-streams', migration0013],
  ['0014-smtp-credentials', migration0014],
  ['0015-mta-shares', (db) => migration0015(db)],
  ['0016-templates', migration0016],
  ['0017-api-key-streams', (db) => migration0017(db)],
];

/** The migrations this version knows, in order (readiness checks that all were applied). */
export const MIGRATION_NAMES: readonly string[] = MIGRATIONS.map(([name]) => name);

export async function migrateToLatest(db: Db): Promise<string[]> {
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, up] of MIGRATIONS) out[name] = { up: (k) => up(k, db.dialect) };
      return out;
    },
  };
  // Unordered: migrations land from parallel work, and a development database may have a
  // later number applied before an earlier one exists.
  // On PostgreSQL, keep Kysely's bookkeeping tables in our own schema: without a schema it
  // takes another schema's kysely_migration (parallel test schemas) for ours and fails.
  const schema = db.dialect === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db.kysely)).rows[0]?.s : undefined;
  const migrator = new Migrator({ db: db.kysely, provider, allowUnorderedMigrations: true, ...(schema ? { migrationTableSchema: schema } : {}) });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    // Kysely's migrator lists the tables of every schema in the database, and PostgreSQL
    // fails that listing when another schema is dropped at the same moment (parallel test
    // schemas, seen in CI). Nothing was migrated yet: try again.
    if (attempt < 10 && otherSchemaDropped(error, schema)) {
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
      continue;
    }
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${(error as Error).message ?? error}`);
  }
}

function otherSchemaDropped(error: unknown, ours: string | undefined): boolean {
  const m = /^schema "(.+)" does not exist$/.exec((error as Error)?.message ?? '');
  return m !== null && m[1] !== ours;
}
