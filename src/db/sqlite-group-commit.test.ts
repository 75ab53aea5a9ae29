import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statementWrites, WalFlusher } from './sqlite-group-commit.ts';
import { openDatabase } from './connect.ts';

function walFile(): string {
  const f = join(mkdtempSync(join(tmpdir(), 'estafeta-wal-')), 'x-wal');
  writeFileSync(f, 'x');
  return f;
}

test('flushes requested while one runs share the next one, which starts after the running one ends', async () => {
  const events: string[] = [];
  let release: () => void = () => {};
  const flusher = new WalFlusher(walFile(), async () => {
    events.push('start');
    await new Promise<void>((r) => (release = r));
    events.push('end');
  });
  flusher.markDirty();
  const first = flusher.flush();
  await new Promise((r) => setImmediate(r));
  flusher.markDirty(); // a write while the first flush runs
  const waiting = [flusher.flush(), flusher.flush(), flusher.flush()];
  assert.deepEqual(events, ['start']);
  release();
  await first;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events, ['start', 'end', 'start'], 'the three waiters share one second flush');
  release();
  await Promise.all(waiting);
  assert.deepEqual(events, ['start', 'end', 'start', 'end']);
});

test('nothing written since the last flush: no disk flush', async () => {
  let syncs = 0;
  const flusher = new WalFlusher(walFile(), async () => void syncs++);
  flusher.markDirty();
  await flusher.flush();
  await flusher.flush();
  assert.equal(syncs, 1);
});

test('a failed flush fails its waiters, and the next flush tries again', async () => {
  let fail = true;
  let syncs = 0;
  const flusher = new WalFlusher(walFile(), async () => {
    syncs++;
    if (fail) throw new Error('EIO');
  });
  flusher.markDirty();
  await assert.rejects(flusher.flush(), /EIO/);
  fail = false;
  await flusher.flush();
  assert.equal(syncs, 2, 'the writes the failed flush did not cover are flushed by the next');
});

test('statements that can write are told apart from reads', () => {
  assert.equal(statementWrites('select * from x'), false);
  assert.equal(statementWrites('  pragma foo'), false);
  assert.equal(statementWrites('update x set a = 1 returning *'), true);
  assert.equal(statementWrites('insert into x values (1)'), true);
  assert.equal(statementWrites('commit'), true);
});

test('a durable SQLite database commits, keeps what it committed, and reads while flushes run', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'estafeta-gc-')), 'db.sqlite');
  const db = await openDatabase(`sqlite:${file}`);
  await Promise.all(Array.from({ length: 50 }, (_, i) => db.tx((trx) => trx.insertInto('settings').values({ key: `k${i}`, value: String(i) }).execute())));
  await db.volatile((q) => q.insertInto('settings').values({ key: 'volatile', value: 'v' }).execute());
  await db.close();
  const again = await openDatabase(`sqlite:${file}`);
  const rows = await again.kysely.selectFrom('settings').select('key').where('key', 'like', 'k%').execute();
  assert.equal(rows.length, 50);
  assert.ok(await again.kysely.selectFrom('settings').select('key').where('key', '=', 'volatile').executeTakeFirst());
  await again.close();
});

test('the log is checkpointed into the database file by the worker thread, not left to grow', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'estafeta-ckpt-')), 'db.sqlite');
  const db = await openDatabase(`sqlite:${file}`);
  const before = statSync(file).size;
  const value = 'x'.repeat(10_000);
  for (let i = 0; i < 20; i++) await db.tx((trx) => trx.insertInto('settings').values(Array.from({ length: 20 }, (_, j) => ({ key: `big${i}.${j}`, value }))).execute());
  // 4 MB written: SQLite alone would checkpoint only past 64 MB of log.
  const until = Date.now() + 5000;
  while (statSync(file).size < before + 3_000_000 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.ok(statSync(file).size >= before + 3_000_000, `database file ${statSync(file).size} bytes`);
  await db.close();
});
