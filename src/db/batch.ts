/**
 * Batch helpers. Multi-row inserts are the cheapest way to write many rows on both
 * databases, but each engine caps the number of bound parameters in one statement
 * (SQLite 32766, PostgreSQL 65535): split the rows so every statement stays under it.
 */
import type { Insertable } from 'kysely';
import type { Q } from './connect.ts';
import type { Database } from './schema.ts';

const MAX_PARAMS = 30000;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function insertChunked<T extends keyof Database>(q: Q, table: T, rows: Insertable<Database[T]>[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0] as object).length || 1;
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns));
  for (const part of chunk(rows, perStatement)) {
    await q.insertInto(table).values(part as never).execute();
  }
}
