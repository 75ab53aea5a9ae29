/**
 * Prints what each role may do (the README's roles list, section "Signing in"), from the
 * access every route of the API declares: `npx tsx scripts/roles.ts`. Builds the API on an
 * in-memory database and reads its OpenAPI document; starts nothing else, listens nowhere.
 * test/security/roles-doc.test.ts checks that the README holds this text.
 */
import { buildServer } from '../src/api/server.ts';
import { accessMarkdown, type OpenApiPaths } from '../src/api/access-doc.ts';
import type { ApiContext } from '../src/api/context.ts';
import { configSchema } from '../src/config/index.ts';
import { openDatabase } from '../src/db/index.ts';
import { silentLogger } from '../src/lib/logger.ts';

/** The roles list as the routes say it. */
export async function rolesMarkdown(): Promise<string> {
  const db = await openDatabase('sqlite::memory:');
  // Building the API makes the first user; a fixed password keeps it from printing one.
  process.env.ESTAFETA_ADMIN_PASSWORD ??= 'roles-document-only';
  // Only what building the routes reads; no handler runs.
  const ctx = { db, config: configSchema.parse({}), logger: silentLogger, version: 'docs', metrics: null, mta: null } as unknown as ApiContext;
  const app = await buildServer(ctx);
  try {
    await app.ready();
    return accessMarkdown(app.swagger() as unknown as OpenApiPaths);
  } finally {
    await app.close();
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${await rolesMarkdown()}\n`);
