/**
 * The target reader's bounds (finding 6 of the security review): a CSV header of many
 * columns took time quadratic in their number (50,000 columns: seconds; a million: over
 * 13 minutes, all on the main thread), and a recipient given as JSON nested 100,000 levels
 * deep overflowed the call stack when it was stored. Each bound is refused in words, fast.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { jsonTarget, readCsvTarget, type TargetRow } from './targets.ts';
import { TARGET_LIMITS } from './target-limits.ts';

async function read(csv: string, options?: { maxRows?: number }): Promise<{ rows: TargetRow[]; error: string | null; ms: number }> {
  const start = performance.now();
  const rows: TargetRow[] = [];
  try {
    for await (const row of readCsvTarget(csv, options)) rows.push(row);
    return { rows, error: null, ms: performance.now() - start };
  } catch (err) {
    return { rows, error: (err as Error).message, ms: performance.now() - start };
  }
}

const header = (columns: number) => ['email', ...Array.from({ length: columns - 1 }, (_, i) => `c${i.toString(36)}`)].join(',');
const nested = (depth: number) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);

test('a header of 50,000 distinct columns is refused at once, naming the limit', async () => {
  const r = await read(`${header(50_000)}\na@x.test\n`);
  assert.match(r.error ?? '', /^row 1 of the CSV has more than 500 columns; the limit is 500 columns per row/);
  // About 30 ms on a quiet machine; the bound leaves room for a loaded one (the quadratic
  // check this guards against takes minutes on this header).
  assert.ok(r.ms < 5000, `refused in ${Math.round(r.ms)} ms`);
});

test('500 columns are read; 501 are refused, in the header or in any row', async () => {
  const ok = await read(`${header(500)}\na@x.test${','.repeat(499)}\n`);
  assert.equal(ok.error, null);
  assert.equal(ok.rows.length, 1);
  assert.match((await read(`${header(501)}\na@x.test\n`)).error ?? '', /row 1 of the CSV has more than 500 columns/);
  assert.match((await read(`email,name\na@x.test,A\nb@x.test${','.repeat(500)}\n`)).error ?? '', /row 3 of the CSV has more than 500 columns/);
  // Delimiters inside quotes are a field's text, not columns; the row still counts its bytes.
  const quoted = await read(`email,note\na@x.test,"${','.repeat(2000)}"\n`);
  assert.equal(quoted.error, null);
  assert.equal((quoted.rows[0].data.note as string).length, 2000);
});

test('a duplicate column is found in one pass over 500 columns', async () => {
  const r = await read(`${header(499)},c0\na@x.test\n`);
  assert.match(r.error ?? '', /the CSV header names the column "c0" twice/);
});

test('a row over 100,000 bytes is refused; a field over 10,000 characters is a broken row', async () => {
  const long = await read(`email,note\na@x.test,${'x'.repeat(TARGET_LIMITS.rowBytes)}\n`);
  assert.match(long.error ?? '', /^row 2 of the CSV is longer than 100000 bytes; the limit is 100000 bytes per row/);
  const field = await read(`email,note\na@x.test,${'x'.repeat(10_001)}\nb@x.test,fine\n`);
  assert.match(field.error ?? '', /1 broken row\(s\); nothing was imported:\n {2}row 2: the field "note" is 10001 characters long; the limit is 10000/);
  const header = await read(`email,${'n'.repeat(10_001)}\na@x.test,1\n`);
  assert.match(header.error ?? '', /the CSV header's column 2 has a name of 10001 characters; the limit is 10000/);
});

test('an import of more rows than the limit is refused', async () => {
  const r = await read('email\na@x.test\nb@x.test\nc@x.test\n', { maxRows: 2 });
  assert.match(r.error ?? '', /the CSV has more than 2 recipient rows; the limit is 2 per import/);
  assert.equal((await read('email\na@x.test\nb@x.test\n', { maxRows: 2 })).error, null);
});

test('a header without an email column lists at most 20 of its columns', async () => {
  const r = await read(`${Array.from({ length: 400 }, (_, i) => `col${i}`).join(',')}\n`);
  assert.match(r.error ?? '', /no email column \(found: col0, col1, .*col19, \.\.\. \(400 columns\)\); name one column "email"/);
});

test('a JSON recipient nested 100,000 levels deep is refused, naming the recipient, without overflowing the stack', () => {
  const start = performance.now();
  assert.throws(() => jsonTarget([{ email: 'a@x.test' }, { email: 'b@x.test', x: nested(100_000) }]), {
    message: 'recipient 2 (b@x.test) is refused: the field "x" is nested more than 10 levels deep; the limit is 10. Nothing was imported',
  });
  assert.ok(performance.now() - start < 100);
});

test('JSON recipients: 10 levels are accepted; more depth, size, fields or string length are refused', () => {
  // The recipient object is level 1, so its field may hold 9 levels of arrays.
  assert.equal(jsonTarget([{ email: 'a@x.test', x: nested(9) }]).length, 1);
  assert.throws(() => jsonTarget([{ email: 'a@x.test', x: nested(10) }]), /nested more than 10 levels deep/);
  assert.throws(() => jsonTarget([{ email: 'a@x.test', tags: new Array(1_000_000).fill(1) }]), /recipient 1 \(a@x\.test\) is refused: its values take more than 100000 bytes \(the field "tags" passes the limit\)/);
  assert.throws(() => jsonTarget([{ email: 'a@x.test', a: 'x'.repeat(6000), b: 'y'.repeat(6000), c: { d: ['z'.repeat(9000)] }, e: Array.from({ length: 20 }, () => 'w'.repeat(4000)) }]), /its values take more than 100000 bytes/);
  assert.throws(() => jsonTarget([{ email: 'a@x.test', note: 'x'.repeat(10_001) }]), /the field "note" holds a string of 10001 characters; the limit is 10000/);
  assert.throws(() => jsonTarget([Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`f${i}`, i]))]), /recipient 1 is refused: it has 501 fields; the limit is 500/);
  const fine = jsonTarget([{ email: 'a@x.test', firstName: 'Ana', address: { city: 'Lisboa', lines: ['R. Augusta 1'] } }]);
  assert.deepEqual(fine, [{ email: 'a@x.test', data: { firstName: 'Ana', address: { city: 'Lisboa', lines: ['R. Augusta 1'] } } }]);
});
