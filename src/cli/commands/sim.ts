/**
 * `estafeta sim`: the ISP simulator (src/sim) as a CLI command. Its options are parsed by
 * the simulator itself (`parseSimCommandArgs`), so this command only passes argv through;
 * the one difference is that --inbound defaults to Estafeta's bounce listener, so that
 * `estafeta start` and `estafeta sim` in two terminals work together without flags.
 */
import { Command } from 'commander';
import { SIM_COMMAND_USAGE } from '../../sim/usage.ts';
import { CliError } from '../client.ts';

/** Where `estafeta start` listens for bounces by default (config `bounces.listen`). */
export function defaultInbound(env: NodeJS.ProcessEnv = process.env): string {
  return `127.0.0.1:${env.ESTAFETA_BOUNCE_PORT || 2526}`;
}

export const SIM_HELP = `${SIM_COMMAND_USAGE.replace('(default: keep in memory)', `(default ${defaultInbound({})})`)}
  --no-inbound        keep DSNs, complaints and auto-replies in memory (GET /outbox)

In \`estafeta sim\`, --inbound defaults to ${defaultInbound({})} (Estafeta's bounce listener,
ESTAFETA_BOUNCE_PORT). Point Estafeta at the simulator with, in another terminal:
  ESTAFETA_DNS_SERVERS=127.0.0.1:5300 ESTAFETA_MX_PORT=2525 npx estafeta start
Or run both in one process with a sample delivery: npx estafeta demo`;

/** The simulator's argv with Estafeta's default --inbound added (unless given or --no-inbound). */
export function simArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  if (argv.includes('--no-inbound')) return argv.filter((a) => a !== '--no-inbound');
  if (argv.some((a) => a === '--inbound' || a.startsWith('--inbound='))) return argv;
  return [...argv, '--inbound', defaultInbound(env)];
}

export function simCommand(): Command {
  const cmd =
    new Command('sim')
      .description('run the ISP simulator: fake DNS and mailbox providers on loopback (see --help)')
      // The simulator parses its own options; commander only collects them.
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[options...]')
      .action(async (argv: string[]) => {
        if (argv.includes('--help') || argv.includes('-h')) {
          process.stdout.write(SIM_HELP + '\n');
          return;
        }
        try {
          // Loaded here: the other commands start without the simulator.
          const { runSimulatorCommand } = await import('../../sim/command.ts');
          await runSimulatorCommand(simArgs(argv));
        } catch (err) {
          throw new CliError((err as Error).message);
        }
      });
  // `estafeta help sim` shows the same text as `estafeta sim --help`.
  cmd.helpInformation = () => SIM_HELP + '\n';
  return cmd;
}
