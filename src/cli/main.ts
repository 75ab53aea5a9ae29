/**
 * The `estafeta` command line. `start` runs the platform; the other commands talk to a
 * running one through its HTTP API (--api, ESTAFETA_API_URL; default http://127.0.0.1:8025).
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../app/start.ts';
import { apiClient, CliError } from './client.ts';
import { EstafetaError } from '../lib/errors.ts';
import { readSecret } from './prompt.ts';
import { apiKeysCommand, usersCommand } from './commands/users.ts';
import { dkimCommand } from './commands/dkim.ts';
import { deliveriesCommand } from './commands/deliveries.ts';
import { startCommand } from './commands/start.ts';
import { simCommand } from './commands/sim.ts';
import { demoCommand } from './commands/demo.ts';
import { mtaCommand } from './commands/mta.ts';
import { bouncesCommand, quarantineCommand } from './commands/quarantine.ts';

const program = new Command('estafeta')
  .description('Estafeta: email delivery and monitoring, with its own MTA')
  .version(VERSION)
  .option('--api <url>', 'URL of a running Estafeta (default http://127.0.0.1:8025, or ESTAFETA_API_URL)')
  .option('--api-key <key>', 'API key (or ESTAFETA_API_KEY)')
  .option('--user <name>', 'sign in as this user instead (password from ESTAFETA_PASSWORD, or asked)')
  .showHelpAfterError('(run with --help for usage)');

const client = () => {
  const o = program.opts();
  const user = o.user ?? process.env.ESTAFETA_USER;
  const login = user ? { user, password: async () => process.env.ESTAFETA_PASSWORD ?? readSecret(`password for ${user}: `) } : undefined;
  return apiClient(o.api ?? process.env.ESTAFETA_API_URL ?? `http://127.0.0.1:${process.env.ESTAFETA_HTTP_PORT ?? 8025}`, user ? undefined : (o.apiKey ?? process.env.ESTAFETA_API_KEY), login);
};

program.addCommand(startCommand());
program.addCommand(deliveriesCommand(client));
program.addCommand(usersCommand(client));
program.addCommand(apiKeysCommand(client));
program.addCommand(simCommand());
program.addCommand(demoCommand());
program.addCommand(dkimCommand(client));
program.addCommand(mtaCommand(client));
program.addCommand(quarantineCommand(client));
program.addCommand(bouncesCommand(client));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CliError) {
    process.stderr.write(`estafeta: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  if (err instanceof CommanderError) process.exit(err.exitCode);
  // A setting that cannot work (a read-only database, say): the message says what to change.
  if (err instanceof EstafetaError && err.code === 'CONFIG') {
    process.stderr.write(`estafeta: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
