import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimDemoFile, cleanDemoFiles, demoDir, listDemoFiles, newDemoFile } from './demo-files.ts';

test('demo databases live in data/demo; cleaning removes ended ones, never a running one', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'estafeta-demo-files-'));
  try {
    const a = newDemoFile(demoDir(cwd));
    const b = newDemoFile(demoDir(cwd));
    assert.notEqual(a, b);
    assert.ok(a.startsWith(join(cwd, 'data', 'demo', 'demo-')));
    for (const f of [a, `${a}-wal`, `${a}-shm`, b]) writeFileSync(f, 'x'.repeat(1000));
    writeFileSync(join(cwd, 'data', 'demo-20250101T000000.db'), 'old layout');
    writeFileSync(join(cwd, 'data', 'estafeta.db'), 'not a demo');

    // b is used by another live process; a's claim is by a process that has ended.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    writeFileSync(`${b}.pid`, String(other.pid));
    const ended = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => ended.once('exit', r));
    writeFileSync(`${a}.pid`, String(ended.pid));

    const listed = listDemoFiles(cwd);
    assert.deepEqual(listed.running, [b]);
    assert.deepEqual(listed.ended.map((e) => [e.file, e.bytes]).sort(), [[a, 3000], [join(cwd, 'data', 'demo-20250101T000000.db'), 10]].sort());

    cleanDemoFiles(cwd);
    assert.deepEqual(readdirSync(join(cwd, 'data', 'demo')).sort(), [b.split('/').pop(), `${b.split('/').pop()}.pid`].sort());
    assert.ok(existsSync(join(cwd, 'data', 'estafeta.db')), 'only demo files are removed');
    other.kill();

    const mine = claimDemoFile(b);
    assert.deepEqual(listDemoFiles(cwd).running, [], 'this process does not count as another demo');
    mine.release();
    assert.ok(!existsSync(`${b}.pid`));
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
