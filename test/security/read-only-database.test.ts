/**
 * A low finding of the security review: `estafeta start` on a read-only SQLite file ended in
 * an uncaught SqliteError and its stack. It must stop with one sentence that names the file,
 * says it is read-only and which setting to change. Root may write a chmod 444 file, so the
 * file is made immutable (chattr +i); skipped where chattr is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withDatabase } from '../helpers/child.ts';

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, DATABASE_URL: '', ESTAFETA_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => p.once('exit', (code) => {
    clearTimeout(timer);
    resolve({ code, stderr });
  }));
}

test('estafeta start on a read-only SQLite file says so in words and exits', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-ro-cli-'));
  const file = join(dir, 'estafeta.db');
  try {
    await withDatabase(`sqlite:${file}`, async () => {});
    try {
      execFileSync('chattr', ['+i', file], { stdio: 'ignore' });
    } catch {
      t.skip('chattr +i is not available here');
      return;
    }
    try {
      const { code, stderr } = await run(['start', '--database', `sqlite:${file}`, '--port', '0']);
      assert.equal(code, 1, stderr);
      assert.match(stderr, new RegExp(`^estafeta: The SQLite database ${file} is read-only`), stderr);
      assert.match(stderr, /DATABASE_URL/);
      assert.doesNotMatch(stderr, /SqliteError|SQLITE_READONLY|\n\s+at /, 'no stack trace');
    } finally {
      execFileSync('chattr', ['-i', file]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
