/**
 * Fuzz target: the CSV target reader (readCsvTarget) and the JSON one (jsonTarget) of
 * src/deliveries/targets.ts. CSV texts are built from a header (an email column under one
 * of its accepted names, other columns, sometimes a repeated or dangerous name) and rows
 * with quoting, the three delimiters, CRLF, BOM and blank lines, then broken (unbalanced
 * quotes, cut rows, stray bytes).
 *
 * Invariants: the reader yields rows or throws INVALID_INPUT (nothing else); a header
 * without an email column or with a repeated name is refused; each row's data has only
 * header names (never the email column) with non-empty string values; no row touches
 * Object.prototype; a well-formed CSV reads back exactly. JSON targets: rows or
 * INVALID_INPUT, and the stored form (JSON.stringify of the data) can be written.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { jsonTarget, readCsvTarget, type TargetRow } from '../../../src/deliveries/targets.ts';
import { EstafetaError } from '../../../src/lib/errors.ts';
import { dangerousKey, jsonish, nastyString } from '../arbitraries.ts';
import type { FuzzTarget } from '../harness.ts';
import { known } from '../known.ts';

const EMAIL_NAMES = ['email', 'E-Mail', 'EMAIL', 'email_address', 'emailaddress', 'mail', 'address', ' email '];
const delimiterArb = fc.constantFrom(',', ';', '\t');
const eolArb = fc.constantFrom('\n', '\r\n', '\r');

const fieldArb = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9._%+-]{0,8}@[a-z0-9-]{1,8}\.[a-z]{2,3}$/) },
  { weight: 3, arbitrary: nastyString(12) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '""', '"', 'a"b', '=cmd|x', '\ufeff') },
);

interface Table {
  header: string[];
  rows: string[][];
}

const tableArb: fc.Arbitrary<Table> = fc
  .tuple(fc.constantFrom(...EMAIL_NAMES), fc.array(fc.oneof(dangerousKey, fc.stringMatching(/^[A-Za-z][\w ]{0,8}$/)), { maxLength: 5 }), fc.nat(), fc.array(fc.array(fieldArb, { minLength: 1, maxLength: 7 }), { maxLength: 8 }))
  .map(([emailName, others, at, rows]) => {
    const header = [...others];
    header.splice(at % (others.length + 1), 0, emailName);
    return { header, rows: rows.map((r) => header.map((_, i) => r[i % r.length])) };
  });

/** CSV quoting: a field with a quote, delimiter, line end or edge space goes in quotes. */
function quote(field: string, delimiter: string, always: boolean): string {
  return always || /["\r\n,;\t]|^\s|\s$/.test(field) || field.includes(delimiter) ? `"${field.replace(/"/g, '""')}"` : field;
}

function toCsv(t: Table, delimiter: string, eol: string, bom: boolean, always: boolean): string {
  const line = (r: string[]) => r.map((f) => quote(f, delimiter, always)).join(delimiter);
  return (bom ? '\ufeff' : '') + [t.header, ...t.rows].map(line).join(eol) + eol;
}

interface Input {
  table: Table;
  /** Every field quoted (else only those that need it). */
  always: boolean;
  csv: string;
  wellFormed: boolean;
  asBuffer: boolean;
  json: unknown[];
  depth: number;
}

function arbitrary(): fc.Arbitrary<Input> {
  const formatted = fc.record({ table: tableArb, delimiter: delimiterArb, eol: eolArb, bom: fc.boolean(), always: fc.boolean() });
  return fc
    .tuple(
      formatted,
      fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: fc.array(fc.record({ kind: fc.constantFrom('insert', 'delete', 'truncate'), at: fc.double({ min: 0, max: 1, noNaN: true }), piece: fc.oneof(nastyString(6), fc.constantFrom('"', '\n', ',', ';', '\t', '\r\n\r\n', '"""', '\0')) }), { minLength: 1, maxLength: 3 }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) }),
      fc.boolean(),
      fc.array(fc.oneof(jsonish(2), fc.dictionary(fc.oneof(dangerousKey, fc.string({ maxLength: 5 })), jsonish(2), { maxKeys: 4 })), { maxLength: 4 }),
      fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 50_000 }) }),
    )
    .map(([f, edits, asBuffer, json, depth]) => {
      let csv = toCsv(f.table, f.delimiter, f.eol, f.bom, f.always);
      let wellFormed = true;
      if (typeof edits === 'string') {
        csv = edits;
        wellFormed = false;
      } else if (edits) {
        for (const e of edits) {
          const i = Math.floor(e.at * csv.length);
          csv = e.kind === 'insert' ? csv.slice(0, i) + e.piece + csv.slice(i) : e.kind === 'delete' ? csv.slice(0, i) + csv.slice(i + e.piece.length + 1) : csv.slice(0, i);
        }
        wellFormed = false;
      }
      return { table: f.table, always: f.always, csv, wellFormed, asBuffer, json: JSON.parse(JSON.stringify(json)) as unknown[], depth };
    });
}

function isInvalidInput(err: unknown): boolean {
  return err instanceof EstafetaError && err.code === 'INVALID_INPUT';
}

async function readAll(csv: string | Buffer): Promise<{ rows: TargetRow[] } | { error: unknown }> {
  const rows: TargetRow[] = [];
  try {
    for await (const row of readCsvTarget(csv)) rows.push(row);
    return { rows };
  } catch (error) {
    return { error };
  }
}

/** What a well-formed table must read back as. */
function expected(table: Table, always: boolean): TargetRow[] | 'refused' {
  // Text travels as UTF-8: a lone surrogate comes back as U+FFFD.
  const wellFormed = (s: string) => (s as string & { toWellFormed(): string }).toWellFormed();
  const t = { header: table.header.map(wellFormed), rows: table.rows.map((r) => r.map(wellFormed)) };
  const header = t.header.map((h) => h.trim());
  const emailIndex = header.findIndex((h) => ['email', 'e-mail', 'email_address', 'emailaddress', 'mail', 'address'].includes(h.toLowerCase()));
  if (new Set(header.filter(Boolean)).size !== header.filter(Boolean).length) return 'refused';
  const out: TargetRow[] = [];
  for (const r of t.rows) {
    // Fields with edge spaces are quoted, and csv-parse trims around quotes, not inside.
    const fields = r;
    if (fields.length === 1 && fields[0] === '' && !always) continue;
    const data: Record<string, unknown> = {};
    for (let i = 0; i < header.length; i++) if (i !== emailIndex && header[i] && fields[i] !== '') data[header[i]] = fields[i];
    out.push({ email: fields[emailIndex] || null, data });
  }
  return out;
}

async function check(input: Input): Promise<void> {
  const result = await readAll(input.asBuffer ? Buffer.from(input.csv, 'utf8') : input.csv);
  assert.equal(Object.keys(Object.prototype).length, 0, 'Object.prototype is untouched');
  if ('error' in result) {
    assert.ok(isInvalidInput(result.error), `readCsvTarget threw ${result.error instanceof Error ? `${result.error.name}: ${result.error.message}` : String(result.error)}`);
    assert.ok(!/\n\s+at /.test((result.error as Error).message), 'the error message carries no stack trace');
  } else {
    for (const row of result.rows) {
      assert.ok(row.email === null || (typeof row.email === 'string' && row.email !== ''), `email ${JSON.stringify(row.email)}`);
      for (const [k, v] of Object.entries(row.data)) {
        assert.ok(k !== '' && k === k.trim() && typeof v === 'string' && v !== '', `field ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
      }
      assert.equal(Object.getPrototypeOf(row.data), Object.prototype, 'row data is a plain object');
    }
  }
  if (input.wellFormed && !input.table.header.some((h) => /\s/.test(h) && h.trim() !== h) && !input.table.rows.some((r) => r.some((f) => f.includes('\ufeff') || f.includes('\0')))) {
    const want = expected(input.table, input.always);
    if (want === 'refused') assert.ok('error' in result, 'a header naming a column twice is refused');
    else if ('error' in result) assert.fail(`a well-formed CSV was refused: ${(result.error as Error).message}`);
    else assert.deepEqual(result.rows, want, 'a well-formed CSV reads back as written');
  }

  let rows: TargetRow[] = [];
  try {
    rows = jsonTarget(input.json as Record<string, unknown>[]);
  } catch (err) {
    assert.ok(isInvalidInput(err), `jsonTarget threw ${(err as Error).message}`);
  }
  for (const r of rows) JSON.stringify(r.data);
  if (input.depth > 0) {
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < input.depth; i++) deep = { child: deep };
    try {
      const [row] = jsonTarget([{ email: 'a@b.example', deep }]);
      JSON.stringify(row.data);
    } catch (err) {
      if (isInvalidInput(err)) return;
      if (err instanceof RangeError) known('finding-6: a deeply nested JSON recipient overflows the stack when stored (targets.ts storeTarget)');
      else throw err;
    }
  }
}

export const csvTarget: FuzzTarget<Input> = {
  name: 'csv-targets',
  description: 'CSV and JSON target readers (src/deliveries/targets.ts)',
  arbitrary,
  async: true,
  check,
};
