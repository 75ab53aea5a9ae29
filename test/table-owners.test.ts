/**
 * One writer per table: every insert, update and delete of a table is in the folder that
 * owns it (docs/ARCHITECTURE.md lists them). Other stages change a delivery's state or a
 * log's status through deliveries/'s named functions, the spool through mta/, and so on. A
 * scan of the source, so a write added in the wrong place fails here with the file named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** The folder under src/ that owns each table. */
export const OWNERS: Record<string, string> = {
  deliveries: 'deliveries',
  delivery_targets: 'deliveries',
  delivery_logs: 'deliveries',
  delivery_links: 'deliveries',
  delivery_counters: 'deliveries',
  delivery_audit: 'deliveries',
  mta_spool: 'mta',
  mta_bodies: 'mta',
  mta_processes: 'mta',
  mta_adaptations: 'mta',
  mta_ip_usage: 'mta',
  events: 'events',
  quarantine: 'quarantine',
  quarantine_audit: 'quarantine',
  quarantine_incidents: 'quarantine',
  inbound_mails: 'inbound',
  bounce_qualifications: 'qualification',
  dkim_keys: 'dkim',
  users: 'auth',
  api_keys: 'auth',
  sessions: 'auth',
  settings: 'db',
  webhook_endpoints: 'webhooks',
  webhook_attempts: 'webhooks',
  idempotency_keys: 'streams',
  message_templates: 'streams',
  smtp_credentials: 'submission',
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'migrations' || e.name === 'testdata' ? [] : sources(p);
    return /\.(ts|mjs)$/.test(e.name) && !/\.test\.ts$/.test(e.name) ? [p] : [];
  });
}

const WRITES = [
  /\b(?:updateTable|insertInto|deleteFrom|replaceInto|mergeInto)\(\s*'([a-z_]+)'/g,
  /\binsertChunked\(\s*\w+\s*,\s*'([a-z_]+)'/g,
  /\b(?:update|insert\s+into|delete\s+from)\s+([a-z_]+)\b/gi,
];

test('every table is written only by the folder that owns it', () => {
  const wrong: string[] = [];
  let writes = 0;
  for (const file of sources(SRC)) {
    const folder = relative(SRC, file).split(/[\\/]/)[0];
    const text = readFileSync(file, 'utf8');
    for (const re of WRITES) {
      for (const m of text.matchAll(re)) {
        const table = m[1].toLowerCase();
        if (!(table in OWNERS)) continue; // an English word after "update", not a table
        writes++;
        if (OWNERS[table] !== folder) wrong.push(`${relative(SRC, file)} writes ${table}, which ${OWNERS[table]}/ owns`);
      }
    }
  }
  assert.ok(writes > 50, `${writes} writes found: the scan still sees the code`);
  assert.deepEqual(wrong, []);
});

test('every table of the schema has an owner', () => {
  const schema = readFileSync(join(SRC, 'db/schema.ts'), 'utf8');
  const tables = [...schema.slice(schema.indexOf('export interface Database')).matchAll(/^\s+([a-z_]+): \w+Table;/gm)].map((m) => m[1]);
  assert.ok(tables.length > 15);
  assert.deepEqual(tables.filter((t) => !(t in OWNERS)), []);
});
