/**
 * The target of a delivery: recipients imported from CSV (an `email` column plus any other
 * columns as personalization fields) or given as JSON objects. An import is all or
 * nothing: a broken row rejects the whole import with the row numbers and reasons, and
 * nothing is written. Invalid or missing addresses are not broken rows: the analysis
 * excludes them with Campaign's reasons.
 */
import { parse } from 'csv-parse';
import { Readable } from 'node:stream';
import type { Db, Q } from '../db/index.ts';
import { invalidInput } from '../lib/errors.ts';

export interface TargetRow {
  email: string | null;
  data: Record<string, unknown>;
}

const EMAIL_HEADERS = ['email', 'e-mail', 'email_address', 'emailaddress', 'mail', 'address'];
const MAX_REPORTED_ERRORS = 20;

/** Parses CSV text or a stream into target rows; throws INVALID_INPUT listing broken rows. */
export async function parseCsvTarget(input: string | Buffer | NodeJS.ReadableStream, onRow?: (count: number) => void): Promise<TargetRow[]> {
  const parser = parse({ bom: true, skip_empty_lines: true, relax_column_count: true, trim: true, delimiter: [',', ';', '\t'] });
  const source = typeof input === 'string' || Buffer.isBuffer(input) ? Readable.from([input]) : input;
  source.pipe(parser);
  const rows: TargetRow[] = [];
  const errors: string[] = [];
  let header: string[] | null = null;
  let emailIndex = -1;
  let line = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      line++;
      if (!header) {
        header = record.map((h) => h.trim());
        emailIndex = header.findIndex((h) => EMAIL_HEADERS.includes(h.toLowerCase()));
        if (emailIndex < 0) throw invalidInput(`the CSV header has no email column (found: ${header.join(', ') || 'nothing'}); name one column "email"`);
        const dup = header.find((h, i) => h && header!.indexOf(h) !== i);
        if (dup) throw invalidInput(`the CSV header names the column "${dup}" twice`);
        continue;
      }
      if (record.length !== header.length) {
        if (errors.length < MAX_REPORTED_ERRORS) errors.push(`row ${line}: ${record.length} fields where the header has ${header.length}`);
        else errors.length++;
        continue;
      }
      const data: Record<string, unknown> = {};
      header.forEach((name, i) => {
        if (i !== emailIndex && name && record[i] !== '') data[name] = record[i];
      });
      rows.push({ email: record[emailIndex] || null, data });
      if (onRow && rows.length % 10000 === 0) onRow(rows.length);
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'INVALID_INPUT') throw err;
    throw invalidInput(`the CSV cannot be read, nothing was imported: ${(err as Error).message}`);
  }
  if (!header) throw invalidInput('the CSV is empty: expected a header line with an "email" column');
  if (errors.length) {
    const shown = errors.filter(Boolean);
    const more = errors.length - shown.length;
    throw invalidInput(`the CSV has ${errors.length} broken row(s); nothing was imported:\n  ${shown.join('\n  ')}${more ? `\n  ... and ${more} more` : ''}`, { brokenRows: errors.length });
  }
  return rows;
}

/** Turns JSON recipient objects into target rows; `email` is taken out of the fields. */
export function jsonTarget(recipients: Record<string, unknown>[]): TargetRow[] {
  return recipients.map((r, i) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw invalidInput(`recipient ${i + 1} is not an object`);
    const { email, ...data } = r;
    if (email !== undefined && email !== null && typeof email !== 'string') throw invalidInput(`recipient ${i + 1}: email must be a string`);
    return { email: (email as string | null | undefined) ?? null, data };
  });
}

/** Stores target rows, replacing or appending, in the caller's transaction. Returns the new total. */
export async function storeTarget(q: Q, deliveryId: number, rows: TargetRow[], mode: 'replace' | 'append'): Promise<number> {
  let start = 0;
  if (mode === 'replace') {
    await q.deleteFrom('delivery_targets').where('delivery_id', '=', deliveryId).execute();
  } else {
    const max = await q.selectFrom('delivery_targets').select((eb) => eb.fn.max('row_no').as('m')).where('delivery_id', '=', deliveryId).executeTakeFirst();
    start = Number(max?.m ?? 0);
  }
  const batch: { delivery_id: number; row_no: number; email: string | null; data: string }[] = [];
  const flush = async () => {
    if (!batch.length) return;
    await q.insertInto('delivery_targets').values(batch).execute();
    batch.length = 0;
  };
  for (let i = 0; i < rows.length; i++) {
    batch.push({ delivery_id: deliveryId, row_no: start + i + 1, email: rows[i].email, data: JSON.stringify(rows[i].data) });
    if (batch.length === 5000) await flush();
  }
  await flush();
  return start + rows.length;
}

export async function countTarget(db: Db | Q, deliveryId: number): Promise<number> {
  const q = 'kysely' in db ? db.kysely : db;
  const r = await q.selectFrom('delivery_targets').select((eb) => eb.fn.countAll<number>().as('n')).where('delivery_id', '=', deliveryId).executeTakeFirst();
  return Number(r?.n ?? 0);
}
