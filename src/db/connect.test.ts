/**
 * Opening a SQLite database Estafeta may not write fails at once with a message that names
 * the file, says what is wrong and which setting to change, instead of a SqliteError at the
 * first write. The tests run as root, where chmod does not stop writes: the immutable flag
 * (chattr +i) does, so the cases are skipped where chattr is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from './connect.ts';
import { EstafetaError } from '../lib/errors.ts';

/** Makes `path` immutable while `fn` runs (not even root may write it), or null when chattr is refused. */
async function immutable<T>(path: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    execFileSync('chattr', ['+i', path], { stdio: 'ignore' });
  } catch {
    return null;
  }
  try {
    return await fn();
  } finally {
    execFileSync('chattr', ['-i', path]);
  }
}

const canChattr = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-chattr-'));
  const f = join(dir, 'probe');
  writeFileSync(f, '');
  try {
    execFileSync('chattr', ['+i', f], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', f], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();
const skip = !canChattr && 'chattr +i is not available here (needs root on ext4, xfs or btrfs)';

async function refusal(url: string): Promise<EstafetaError> {
  const err = await openDatabase(url).then(async (db) => {
    await db.close();
    return null;
  }, (e: unknown) => e);
  assert.ok(err instanceof EstafetaError, `expected a clear error, got ${String(err)}`);
  assert.equal(err.code, 'CONFIG');
  assert.match(err.message, /DATABASE_URL/);
  assert.doesNotMatch(err.message, /SQLITE_|SqliteError/);
  return err;
}

test('a read-only SQLite file is refused at start-up, naming the file and the setting', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-ro-'));
  const file = join(dir, 'estafeta.db');
  try {
    await (await openDatabase(`sqlite:${file}`)).close();
    const err = await immutable(file, () => refusal(`sqlite:${file}`));
    assert.ok(err);
    assert.match(err.message, new RegExp(`The SQLite database ${file} is read-only`));
    assert.match(err.message, /make the file writable/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a folder that does not exist and cannot be created is refused, naming it', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-ro-'));
  try {
    const err = await immutable(dir, () => refusal(`sqlite:${join(dir, 'data', 'estafeta.db')}`));
    assert.ok(err);
    assert.match(err.message, new RegExp(`The folder ${join(dir, 'data')} for the SQLite database .* does not exist and cannot be created \\(permission denied\\)`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a folder that cannot be written is refused, naming it', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-ro-'));
  try {
    const err = await immutable(dir, () => refusal(`sqlite:${join(dir, 'estafeta.db')}`));
    assert.ok(err);
    assert.match(err.message, new RegExp(`The SQLite database ${join(dir, 'estafeta.db')} cannot be created: its folder ${dir} cannot be written`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a writable SQLite file opens as before, in WAL mode', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-rw-'));
  try {
    const db = await openDatabase(`sqlite:${join(dir, 'sub', 'estafeta.db')}`);
    await db.close();
    const again = await openDatabase(`sqlite:${join(dir, 'sub', 'estafeta.db')}`);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
