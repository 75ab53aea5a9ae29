/**
 * The API's contract (contract.ts) stays a types-only module the dashboard can read: it and
 * the schema files it names import nothing that would drag the server into the browser's
 * type check or bundle, and the dashboard reaches outside web/ only with `import type`. Also
 * checks the values the schema files spell out instead of importing them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DKIM_ALGORITHMS } from '../dkim/index.ts';
import { ROLES } from '../auth/roles.ts';
import { dkimKeySchema } from './dkim-schemas.ts';
import { principalSchema } from './access-schemas.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');

/** Every import or re-export statement of a file, with whether it is type-only. */
function importsOf(file: string): { from: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const found: { from: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?\sfrom\s+'([^']+)'/gms)) found.push({ from: m[3], typeOnly: Boolean(m[2]) });
  return found;
}

test('contract.ts imports types only, from zod and the response schema files', () => {
  const imports = importsOf(join(here, 'contract.ts'));
  assert.ok(imports.length > 1);
  for (const i of imports) {
    assert.ok(i.typeOnly, `contract.ts: "${i.from}" is not imported with import type`);
    assert.ok(i.from === 'zod' || /^\.\/[a-z-]*schemas\.ts$/.test(i.from), `contract.ts imports ${i.from}`);
  }
});

test('the schema files the contract names import only zod and the role list', () => {
  const schemaFiles = importsOf(join(here, 'contract.ts')).filter((i) => i.from !== 'zod').map((i) => join(here, i.from));
  for (const file of schemaFiles) {
    for (const i of importsOf(file)) assert.ok(i.from === 'zod' || i.from === '../auth/roles.ts', `${relative(root, file)} imports ${i.from}: the dashboard's type check would read the server`);
  }
});

test('the dashboard reaches outside web/ with import type only', () => {
  const webSrc = join(root, 'web/src');
  const files = readdirSync(webSrc, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tsx?$/.test(f));
  assert.ok(files.length > 10);
  let outside = 0;
  for (const f of files) {
    const file = join(webSrc, f);
    for (const i of importsOf(file)) {
      if (!i.from.startsWith('.')) continue;
      const target = relative(webSrc, join(dirname(file), i.from));
      if (!target.startsWith('..')) continue;
      outside++;
      assert.ok(i.typeOnly, `web/src/${f} imports ${i.from} at run time: it would end up in the bundle`);
    }
  }
  assert.ok(outside >= 1, 'web/src/types.ts re-exports the contract');
});

test('the values the schema files spell out are the ones the server uses', () => {
  assert.deepEqual(dkimKeySchema.shape.algorithm.options, DKIM_ALGORITHMS);
  assert.deepEqual(principalSchema.shape.role.options, [...ROLES]);
});
