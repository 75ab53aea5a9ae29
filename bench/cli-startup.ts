/**
 * `npx tsx bench/cli-startup.ts [N]`: how long the `estafeta` command takes for short
 * commands, run N times each (default 10) as a person runs them: `bin/estafeta.js` (the
 * build under dist/cli/, scripts/build-cli.mjs) and, for comparison, the sources through
 * tsx as the command ran before. `deliveries list` goes to an API that is not there (port 1),
 * so it measures the start and one refused connection. Prints median, fastest and slowest.
 */
import { spawnSync } from 'node:child_process';

const N = Number(process.argv[2] ?? 10);
const commands: [string, string[]][] = [
  ['--help', ['--help']],
  ['deliveries list', ['--api', 'http://127.0.0.1:1', 'deliveries', 'list']],
  ['deliveries kpis --help', ['deliveries', 'kpis', '--help']],
];
const ways: [string, string[]][] = [
  ['bin/estafeta.js (compiled)', ['bin/estafeta.js']],
  ['tsx src/cli/main.ts (sources)', ['--import', 'tsx', 'src/cli/main.ts']],
];

function run(args: string[]): number {
  const t = performance.now();
  spawnSync(process.execPath, args, { stdio: 'ignore' });
  return performance.now() - t;
}

run(['bin/estafeta.js', '--version']); // builds dist/cli/ if a source changed
process.stdout.write(`${N} runs each, milliseconds: median (fastest-slowest)\n`);
for (const [way, prefix] of ways) {
  for (const [label, args] of commands) {
    const times = Array.from({ length: N }, () => run([...prefix, ...args])).sort((a, b) => a - b);
    const ms = (x: number) => Math.round(x);
    process.stdout.write(`${way.padEnd(32)} ${label.padEnd(24)} ${String(ms(times[Math.floor(N / 2)])).padStart(5)} (${ms(times[0])}-${ms(times[N - 1])})\n`);
  }
}
