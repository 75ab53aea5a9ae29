/**
 * CPU time of a family of processes, such as a Postfix instance (master and the daemons it
 * starts and ends): each live member's own time plus what its children that ended left in
 * it (cutime, cstime), so a daemon that exits mid-run still counts, in its parent. Linux
 * /proc only. Not here: threads of one process (proc.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS = 100; // USER_HZ on Linux

interface Stat {
  pid: number;
  ppid: number;
  ms: number;
}

function stat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After the name: state, ppid, ..., utime (14th field), stime, cutime, cstime.
    return { pid, ppid: Number(f[1]), ms: ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS) * 1000 };
  } catch {
    return null;
  }
}

/** The process and its descendants, CPU in milliseconds (children that ended and were waited for included). */
export function treeCpuMs(root: number): number {
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((d) => stat(Number(d))).filter((s): s is Stat => s !== null);
  const children = new Map<number, Stat[]>();
  for (const s of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  let ms = 0;
  const walk = (pid: number) => {
    const s = all.find((x) => x.pid === pid);
    if (s) ms += s.ms;
    for (const c of children.get(pid) ?? []) walk(c.pid);
  };
  walk(root);
  return ms;
}

/** The pid of the Postfix master whose configuration directory is `etc`, or null. */
export function postfixMasterPid(etc: string): number | null {
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== 'master') continue;
      if (readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(`MAIL_CONFIG=${etc}`)) return Number(d);
    } catch {
      // gone, or not ours to read
    }
  }
  return null;
}
