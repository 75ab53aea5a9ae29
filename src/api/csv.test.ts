import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvLine } from './csv.ts';

test('CSV fields are quoted when they must be, and formulas are defused', () => {
  assert.equal(csvLine(['a@b.test', 'Sent', 3, null, undefined]), 'a@b.test,Sent,3,,\r\n');
  assert.equal(csvLine(['550 5.1.1 "no", really', 'two\nlines']), '"550 5.1.1 ""no"", really","two\nlines"\r\n');
  assert.equal(csvLine(['=HYPERLINK("http://x")', '+1', '-2', '@SUM(A1)']), `"'=HYPERLINK(""http://x"")",'+1,'-2,'@SUM(A1)\r\n`);
});
