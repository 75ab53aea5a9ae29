/**
 * Says in words why a SQLite database cannot be used, before anything else tries to write
 * to it: a read-only file, a folder that does not exist and cannot be created, or one that
 * cannot be written (SQLite creates the file there, and its -wal and -shm files beside it).
 * The error names the file and the setting to change. Not here: errors of a database that
 * was writable at start-up and stopped being so later (they stay SQLite's own).
 */
import { mkdirSync, existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { EstafetaError } from '../lib/errors.ts';

const SETTING = 'set DATABASE_URL (database.url in the configuration file, or --database) to';
const WHO = 'writable by the user Estafeta runs as';

const reason = (err: unknown) => {
  const code = (err as { code?: string }).code;
  return code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : code === 'ENOTDIR' || code === 'EEXIST' ? 'a part of the path is a file' : (err as Error).message;
};

function unusable(message: string): EstafetaError {
  return new EstafetaError('CONFIG', message);
}

/** Creates the database's folder when missing, or says why it cannot. */
export function ensureSqliteFolder(file: string): void {
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw unusable(`The folder ${dir} for the SQLite database ${file} does not exist and cannot be created (${reason(err)}): create it, ${WHO}, or ${SETTING} a file in a folder that is.`);
  }
}

/** The error to show for what SQLite said while opening `file`, or the error itself. */
export function sqliteOpenError(file: string, err: unknown): unknown {
  const code = (err as { code?: string }).code ?? '';
  if (code.startsWith('SQLITE_READONLY')) return readOnly(file);
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM')) {
    const dir = dirname(file);
    const name = basename(file);
    return existsSync(file)
      ? unusable(`The SQLite database ${file} cannot be opened for writing: the file and its folder ${dir} must both be ${WHO} (SQLite keeps ${name}-wal and ${name}-shm beside the file); make them so, or ${SETTING} a file that is.`)
      : unusable(`The SQLite database ${file} cannot be created: its folder ${dir} cannot be written. Make the folder ${WHO}, or ${SETTING} a file in a folder that is.`);
  }
  return err;
}

function readOnly(file: string): EstafetaError {
  return unusable(`The SQLite database ${file} is read-only, and Estafeta writes to it: make the file ${WHO} (chmod u+w, chattr -i, or a read-write mount), or ${SETTING} a file that is.`);
}

/**
 * Tries a write that changes nothing: SQLite opens a file it may not write read-only without
 * a word, and refuses only the first write, which may come long after start-up.
 */
export function probeWritable(sqlite: BetterSqlite3.Database): void {
  const version = Number(sqlite.pragma('user_version', { simple: true }));
  sqlite.exec('BEGIN IMMEDIATE');
  try {
    sqlite.pragma(`user_version = ${version}`);
  } finally {
    if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
  }
}
