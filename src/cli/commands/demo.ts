/**
 * `estafeta demo` (also `estafeta start --demo`): the simulator and Estafeta in one process
 * on a fresh database, a sample delivery sent through them with a live progress bar, then
 * the dashboard left running until Ctrl-C. With --json it runs unattended and prints one
 * JSON object with the final KPIs and the elapsed time (for tests and scripts). What it
 * runs is in demo-run.ts, loaded only when the command runs.
 */
import { Command } from 'commander';

export interface DemoCommandOptions {
  recipients?: string | number;
  json?: boolean;
  exit?: boolean;
  port?: string | number;
  database?: string;
  clean?: boolean;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('run Estafeta and the ISP simulator together and send a sample delivery (dashboard until Ctrl-C)')
    .option('--recipients <n>', 'recipients to deliver', '10000')
    .option('--json', 'no progress bar; print the final KPIs as one JSON object and exit')
    .option('--exit', 'exit once the delivery is final instead of keeping the dashboard up')
    .option('--port <port>', 'HTTP port of the dashboard and API (default 8025, or a free one)')
    .option('--database <url>', 'database (default a new ./data/demo/demo-<timestamp>.db)')
    .option('--clean', 'remove the databases of demos that have ended (./data/demo/), then exit')
    .action(async (o: DemoCommandOptions) => (await import('./demo-run.ts')).runDemoCommand(o));
}
