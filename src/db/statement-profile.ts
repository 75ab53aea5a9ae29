/**
 * An optional per-statement profile of SQLite: with ESTAFETA_SQLITE_PROFILE set to a file
 * path ("%p" in it becomes the process id), every statement's executions are timed on the main thread (where better-sqlite3
 * runs them) and summed by SQL text, with parameter lists collapsed so that `in (?, ?, ?)`
 * of any length counts as one statement; the table is written to that file when the process
 * exits, the costliest first. For finding where the database time goes (docs/PERFORMANCE.md);
 * off by default, since timing every call costs a little.
 */
import { writeFileSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';

interface Entry {
  calls: number;
  ms: number;
  rows: number;
}

type Runner = Pick<BetterSqlite3.Statement, 'reader' | 'all' | 'run' | 'iterate'>;

const entries = new Map<string, Entry>();
let target: string | null = null;

/** Turns profiling on when the environment asks for it; returns whether it is on. */
export function statementProfileEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (target !== null) return true;
  const file = env.ESTAFETA_SQLITE_PROFILE?.replace('%p', String(process.pid));
  if (!file) return false;
  target = file;
  process.on('exit', () => writeFileSync(file, formatProfile()));
  return true;
}

/** The statement, timed under its collapsed SQL text. */
export function profiledStatement<S extends Runner>(sqlText: string, stmt: S): S {
  const key = collapse(sqlText);
  const timed =
    <A extends unknown[], R>(fn: (...args: A) => R, count: (r: R) => number) =>
    (...args: A): R => {
      const t = performance.now();
      const r = fn(...args);
      const e = entries.get(key) ?? entries.set(key, { calls: 0, ms: 0, rows: 0 }).get(key)!;
      e.calls++;
      e.ms += performance.now() - t;
      e.rows += count(r);
      return r;
    };
  return {
    ...stmt,
    reader: stmt.reader,
    all: timed(stmt.all.bind(stmt), (r) => (r as unknown[]).length),
    run: timed(stmt.run.bind(stmt), (r) => (r as BetterSqlite3.RunResult).changes),
    iterate: stmt.iterate.bind(stmt),
  } as S;
}

/** Collapses runs of parameters, and rows of parameters, so one statement has one key. */
export function collapse(sqlText: string): string {
  return sqlText.replace(/\?(?:\s*,\s*\?)+/g, '?…').replace(/\(\?…\)(?:\s*,\s*\(\?…\))+/g, '(?…)…');
}

/** The profile as a text table: total ms, calls, rows, µs per call, then the SQL. */
export function formatProfile(): string {
  const all = [...entries].sort((a, b) => b[1].ms - a[1].ms);
  const total = all.reduce((s, [, e]) => s + e.ms, 0);
  const lines = [`SQLite statements on the main thread: ${total.toFixed(0)} ms in all`, 'ms\tcalls\trows\tµs/call\tsql'];
  for (const [sqlText, e] of all) lines.push(`${e.ms.toFixed(0)}\t${e.calls}\t${e.rows}\t${((e.ms / e.calls) * 1000).toFixed(1)}\t${sqlText.slice(0, 300)}`);
  return lines.join('\n') + '\n';
}
