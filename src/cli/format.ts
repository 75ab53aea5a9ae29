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

export function printTable(head: string[], rows: (string | number | null | undefined)[][]): void {
  const plain = !process.stdout.isTTY;
  const table = new Table({ head, style: plain ? { head: [], border: [] } : undefined });
  for (const r of rows) table.push(r.map((c) => (c === null || c === undefined ? '' : String(c))));
  process.stdout.write(table.toString() + '\n');
}

export function printPairs(pairs: [string, unknown][]): void {
  const width = Math.max(...pairs.map(([k]) => k.length));
  for (const [k, v] of pairs) process.stdout.write(`${k.padEnd(width)}  ${v === null || v === undefined ? '-' : String(v)}\n`);
}

export function progressBar(label: string): { update(done: number, total: number): void; stop(): void } {
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% {value}/{total}`, noTTYOutput: true, notTTYSchedule: 5000, hideCursor: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(Math.max(total, 1), done);
        started = true;
      }
      bar.setTotal(Math.max(total, 1));
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
