/**
 * The target of a delivery: recipients imported from CSV (an `email` column plus any other
 * columns as personalization fields) or given as JSON objects. An import is all or
 * nothing: a broken row rejects the whole import with the row numbers and reasons, and
 * nothing is written. Invalid or missing addresses are not broken rows: the analysis
 * excludes them with Campaign's reasons. Sizes and counts are bounded by TARGET_LIMITS.
 */
import { parse } from 'csv-parse';
import { Readable, pipeline } from 'node:stream';
import type { Db, Q } from '../db/index.ts';
import { EstafetaError, invalidInput } from '../lib/errors.ts';
import { withBoundedHeapGrowth } from '../lib/heap-growth.ts';
import { csvRowGuard, longFieldProblem, recipientValueProblem, TARGET_LIMITS } from './target-limits.ts';

export interface TargetRow {
  email: string | null;
  data: Record<string, unknown>;
}

const EMAIL_HEADERS = ['email', 'e-mail', 'email_address', 'emailaddress', 'mail', 'address'];
const MAX_REPORTED_ERRORS = 20;

/**
 * Reads CSV text or a stream as target rows, one at a time, so a million recipients never sit
 * in memory together. Broken rows are skipped and counted; after the last row the generator
 * throws INVALID_INPUT listing them, so a caller writing inside a transaction rolls it all
 * back and nothing is imported. A row, a field or an import over TARGET_LIMITS is refused
 * while reading (csvRowGuard stops an overlong row before the parser builds it).
 */
export async function* readCsvTarget(input: string | Buffer | NodeJS.ReadableStream, { maxRows }: { maxRows?: number } = {}): AsyncGenerator<TargetRow> {
  const rowLimit = maxRows ?? TARGET_LIMITS.rows;
  const parser = parse({ bom: true, skip_empty_lines: true, relax_column_count: true, trim: true, delimiter: [',', ';', '\t'] });
  const source = typeof input === 'string' || Buffer.isBuffer(input) ? Readable.from([input]) : input;
  // pipeline, not pipe: the guard's refusal (or the source's error) must reach the parser.
  pipeline(source as NodeJS.ReadableStream, csvRowGuard(), parser, () => {});
  const errors: string[] = [];
  let broken = 0;
  let header: string[] | null = null;
  let emailIndex = -1;
  let line = 0;
  const iterator = (parser as AsyncIterable<string[]>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<string[]>;
      try {
        next = await iterator.next();
      } catch (err) {
        if (err instanceof EstafetaError) throw err;
        throw invalidInput(`the CSV cannot be read, nothing was imported: ${(err as Error).message}`);
      }
      if (next.done) break;
      const record = next.value;
      line++;
      if (!header) {
        header = record.map((h) => h.trim());
        checkHeader(header);
        emailIndex = header.findIndex((h) => EMAIL_HEADERS.includes(h.toLowerCase()));
        continue;
      }
      if (line - 1 > rowLimit) throw invalidInput(`the CSV has more than ${rowLimit} recipient rows; the limit is ${rowLimit} per import. Nothing was imported`);
      const problem = record.length !== header.length ? `${record.length} fields where the header has ${header.length}` : longFieldProblem(record, header);
      if (problem) {
        broken++;
        if (errors.length < MAX_REPORTED_ERRORS) errors.push(`row ${line}: ${problem}`);
        continue;
      }
      const data: Record<string, unknown> = {};
      for (let i = 0; i < header.length; i++) if (i !== emailIndex && header[i] && record[i] !== '') data[header[i]] = record[i];
      yield { email: record[emailIndex] || null, data };
    }
  } finally {
    // A refusal (or a caller that stops early) leaves the rest of the input unread: release it.
    parser.destroy();
  }
  if (!header) throw invalidInput('the CSV is empty: expected a header line with an "email" column');
  if (broken) {
    const more = broken - errors.length;
    throw invalidInput(`the CSV has ${broken} broken row(s); nothing was imported:\n  ${errors.join('\n  ')}${more ? `\n  ... and ${more} more` : ''}`, { brokenRows: broken });
  }
}

/** The header names an email column, no column twice, and no name over the field limit (one pass, a Set). */
function checkHeader(header: string[]): void {
  const shown = (names: string[]) => names.slice(0, 20).map((h) => (h.length > 60 ? `${h.slice(0, 60)}...` : h)).join(', ') + (names.length > 20 ? `, ... (${names.length} columns)` : '');
  if (!header.some((h) => EMAIL_HEADERS.includes(h.toLowerCase()))) throw invalidInput(`the CSV header has no email column (found: ${shown(header) || 'nothing'}); name one column "email"`);
  const long = header.findIndex((h) => h.length > TARGET_LIMITS.fieldChars);
  if (long >= 0) throw invalidInput(`the CSV header's column ${long + 1} has a name of ${header[long].length} characters; the limit is ${TARGET_LIMITS.fieldChars}`);
  const seen = new Set<string>();
  for (const h of header) {
    if (h && seen.has(h)) throw invalidInput(`the CSV header names the column "${h}" twice`);
    seen.add(h);
  }
}

/**
 * Turns JSON recipient objects into target rows; `email` is taken out of the fields. A
 * recipient whose values pass TARGET_LIMITS (nested too deep, too large) is refused, naming it.
 */
export function jsonTarget(recipients: Record<string, unknown>[]): TargetRow[] {
  if (recipients.length > TARGET_LIMITS.rows) throw invalidInput(`${recipients.length} recipients given; the limit is ${TARGET_LIMITS.rows} per import`);
  return recipients.map((r, i) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw invalidInput(`recipient ${i + 1} is not an object`);
    const { email, ...data } = r;
    if (email !== undefined && email !== null && typeof email !== 'string') throw invalidInput(`recipient ${i + 1}: email must be a string`);
    const problem = recipientValueProblem(r);
    if (problem) {
      const who = typeof email === 'string' ? ` (${email.length > 100 ? `${email.slice(0, 100)}...` : email})` : '';
      throw invalidInput(`recipient ${i + 1}${who} is refused: ${problem}. Nothing was imported`);
    }
    return { email: (email as string | null | undefined) ?? null, data };
  });
}

/** Stores target rows, replacing or appending, in the caller's transaction. Returns the new total. */
export async function storeTarget(q: Q, deliveryId: number, rows: Iterable<TargetRow> | AsyncIterable<TargetRow>, mode: 'replace' | 'append'): Promise<{ total: number; stored: number }> {
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
  let n = 0;
  await withBoundedHeapGrowth(async () => {
    for await (const row of rows) {
      batch.push({ delivery_id: deliveryId, row_no: start + ++n, email: row.email, data: JSON.stringify(row.data) });
      if (batch.length === 5000) await flush();
    }
    await flush();
  });
  return { total: start + n, stored: n };
}

/** How many recipients the target has: rows are numbered from 1, so the largest number (an index lookup). */
export async function countTarget(db: Db | Q, deliveryId: number): Promise<number> {
  const q = 'kysely' in db ? db.kysely : db;
  const r = await q.selectFrom('delivery_targets').select((eb) => eb.fn.max('row_no').as('n')).where('delivery_id', '=', deliveryId).executeTakeFirst();
  return Number(r?.n ?? 0);
}
