/**
 * Output helpers for the CLI: plain tables (no colours when the output is not a terminal),
 * JSON for scripts, and a progress bar for long work.
 */
import Table from 'cli-table3';
import cliProgress from 'cli-progress';

/** The help text of every command's --json. */
export const JSON_HELP = 'print the answer as JSON (for scripts) instead of text';

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A table; columns of numbers (counts, percentages) are aligned on the right. */
export function printTable(head: string[], rows: (string | number | null | undefined)[][]): void {
  const plain = !process.stdout.isTTY;
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))));
  const numeric = head.map((_h, i) => cells.some((r) => r[i]) && cells.every((r) => !r[i] || /^-?[\d,.]+( %)?$/.test(r[i])));
  // No rule between rows: a table of 100 logs stays 100 lines.
  const table = new Table({ head, colAligns: numeric.map((n) => (n ? 'right' : 'left')), chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' }, style: plain ? { head: [], border: [] } : undefined });
  for (const r of cells) table.push(r);
  process.stdout.write(table.toString() + '\n');
}

export function printPairs(pairs: [string, unknown][]): void {
  const width = Math.max(...pairs.map(([k]) => k.length));
  for (const [k, v] of pairs) process.stdout.write(`${k.padEnd(width)}  ${v === null || v === undefined ? '-' : String(v)}\n`);
}

/** A progress bar on standard error; `detail` is a sentence after the figures (what it waits for). */
export function progressBar(label: string): { update(done: number, total: number, detail?: string): void; stop(): void } {
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% {value}/{total}{detail}`, noTTYOutput: true, notTTYSchedule: 5000, hideCursor: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, detail) {
      const payload = { detail: detail ? ` | ${detail}` : '' };
      if (!started) {
        bar.start(Math.max(total, 1), done, payload);
        started = true;
      }
      bar.setTotal(Math.max(total, 1));
      bar.update(done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
