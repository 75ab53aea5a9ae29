/**
 * The `estafeta` program: its global options and every command, without parsing anything
 * (main.ts parses; the help test walks it). Commands that run the platform (start, demo,
 * sim, users reset-password) load it inside their action, so that `estafeta --help` and the
 * commands that only talk to the API start in a fraction of a second. A new command is a
 * file in commands/ and one addCommand line here; program.test.ts fails on any command or
 * option without help text.
 */
import { Command } from 'commander';
import { VERSION } from '../app/version.ts';
import { apiClient } from './client.ts';
import { readSecret } from './prompt.ts';
import { apiKeysCommand, usersCommand } from './commands/users.ts';
import { dkimCommand } from './commands/dkim.ts';
import { deliveriesCommand } from './commands/deliveries.ts';
import { startCommand } from './commands/start.ts';
import { simCommand } from './commands/sim.ts';
import { demoCommand } from './commands/demo.ts';
import { mtaCommand } from './commands/mta.ts';
import { purgeCommand } from './commands/purge.ts';
import { bouncesCommand, quarantineCommand } from './commands/quarantine.ts';
import { webhooksCommand } from './commands/webhooks.ts';
import { streamsCommand } from './commands/streams.ts';

export function buildProgram(): Command {
  const program = new Command('estafeta')
    .description('Estafeta: email delivery and monitoring, with its own MTA')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
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
  program.addCommand(purgeCommand());
  program.addCommand(quarantineCommand(client));
  program.addCommand(bouncesCommand(client));
  program.addCommand(webhooksCommand(client));
  program.addCommand(streamsCommand(client));
  return program;
}
