/**
 * Test databases. On SQLite (the default) each call gets a new file in a temporary
 * directory; when DATABASE_URL names PostgreSQL, each call gets a new schema in that
 * database so test files can run in parallel without seeing each other's rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { randomToken } from '../lib/ids.ts';
import { openDatabase, type Db } from './connect.ts';

export interface TestDb {
  db: Db;
  url: string;
  cleanup(): Promise<void>;
}

/** A new, empty schema in a PostgreSQL database, and the URL that puts it on the search path. */
export async function createPostgresSchema(base: string, prefix: string): Promise<{ schema: string; url: URL }> {
  const schema = `${prefix}${randomToken(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { schema, url };
}

/** The URL a fresh test database would use, without opening it (for child processes). */
export async function createTestDatabaseUrl(): Promise<{ url: string; cleanup: () => Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (base && /^postgres(ql)?:\/\//.test(base)) {
    const { schema, url } = await createPostgresSchema(base, 't_');
    return {
      url: url.toString(),
      async cleanup() {
        const c = new pg.Client({ connectionString: base });
        await c.connect();
        await c.query(`drop schema if exists ${schema} cascade`);
        await c.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-test-'));
  return { url: `sqlite:${join(dir, 'estafeta.db')}`, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

export async function createTestDb(): Promise<TestDb> {
  const { url, cleanup } = await createTestDatabaseUrl();
  const db = await openDatabase(url, { sqliteSynchronous: 'NORMAL' });
  return {
    db,
    url,
    async cleanup() {
      await db.close();
      await cleanup();
    },
  };
}

export const isPostgresTest = () => /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '');
