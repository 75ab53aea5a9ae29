import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabaseUrl, isPostgresTest } from './testing.ts';
import { openDatabase } from './connect.ts';

// Kysely's migrator lists every schema's tables; a schema another process drops at that
// moment used to fail the migration of ours (test schemas are dropped in parallel in CI).
test('migrating a PostgreSQL schema survives other schemas being created and dropped meanwhile', { skip: !isPostgresTest() && 'needs PostgreSQL (DATABASE_URL=postgres://...)', timeout: 120_000 }, async () => {
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  let churning = true;
  const churn = (async () => {
    for (let i = 0; churning; i++) {
      const name = `churn_${process.pid}_${i}`;
      await admin.query(`create schema ${name}; create table ${name}.t (a int, b text, c int, d text)`);
      await admin.query(`drop schema ${name} cascade`);
      // A schema dropped every few milliseconds: far more often than parallel tests do.
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    for (let i = 0; i < 12; i++) {
      const { url, cleanup } = await createTestDatabaseUrl();
      try {
        const db = await openDatabase(url);
        assert.ok((await db.kysely.selectFrom('deliveries').select('id').execute()).length === 0);
        await db.close();
      } finally {
        await cleanup();
      }
    }
  } finally {
    churning = false;
    await churn;
    await admin.end();
  }
});
