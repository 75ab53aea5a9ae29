/**
 * Where `estafeta demo` keeps its databases: one folder, ./data/demo/, a new file per run
 * (demo-<timestamp>.db) so a run never inherits another's deliveries, each beside a
 * `.pid` file while the demo that uses it runs. `cleanDemoFiles` removes the databases of
 * demos that have ended (and those older runs left directly in ./data/), never one that a
 * running demo still uses.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The demo folder, relative to where the command runs, as ./data/estafeta.db is. */
export const demoDir = (cwd = process.cwd()): string => resolve(cwd, 'data', 'demo');

/** A new database file for a run: ./data/demo/demo-20261203T172203.db. */
export function newDemoFile(dir = demoDir()): string {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  // Created empty (SQLite takes an empty file as a new database) so two runs started in the
  // same second get two files.
  for (let i = 1; ; i++) {
    const file = join(dir, i === 1 ? `demo-${stamp}.db` : `demo-${stamp}-${i}.db`);
    try {
      writeFileSync(file, '', { flag: 'wx' });
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Marks a database as in use by this process until `release` is called. */
export function claimDemoFile(file: string): { release(): void } {
  writeFileSync(`${file}.pid`, String(process.pid));
  return { release: () => rmSync(`${file}.pid`, { force: true }) };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

function inUse(file: string): boolean {
  try {
    const pid = Number(readFileSync(`${file}.pid`, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid);
  } catch {
    return false;
  }
}

export interface DemoFiles {
  dir: string;
  /** Demo databases that no running demo uses, with their size (the -wal and -shm files included). */
  ended: { file: string; bytes: number }[];
  /** Those a running demo uses. */
  running: string[];
}

/** The demo databases in the demo folder and, from older versions, directly in ./data/. */
export function listDemoFiles(cwd = process.cwd()): DemoFiles {
  const dir = demoDir(cwd);
  const out: DemoFiles = { dir, ended: [], running: [] };
  for (const folder of [dir, resolve(cwd, 'data')]) {
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder)) {
      if (!/^demo-.*\.db$/.test(name)) continue;
      const file = join(folder, name);
      if (inUse(file)) {
        out.running.push(file);
        continue;
      }
      let bytes = 0;
      for (const f of [file, `${file}-wal`, `${file}-shm`]) bytes += statSync(f, { throwIfNoEntry: false })?.size ?? 0;
      out.ended.push({ file, bytes });
    }
  }
  return out;
}

/** Removes the databases of ended demos, with their -wal, -shm and stale .pid files. */
export function cleanDemoFiles(cwd = process.cwd()): DemoFiles {
  const files = listDemoFiles(cwd);
  for (const { file } of files.ended) for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}.pid`]) rmSync(f, { force: true });
  return files;
}

export const megabytes = (bytes: number): string => `${Math.round(bytes / 1e5) / 10} MB`;
