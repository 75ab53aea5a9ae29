/**
 * `estafeta start`: runs the roles of this process (all of them by default) until SIGINT or
 * SIGTERM, then drains: the MTA finishes the messages it is sending and gives the rest back.
 * A signal that comes while the roles are still starting stops them once they have started.
 */
import { Command, Option } from 'commander';
import { CliError } from '../client.ts';

export function startCommand(): Command {
  return new Command('start')
    .description('run Estafeta: API, sender, MTA, bounce listener and feedback (all roles unless --roles)')
    .option('--config <file>', 'configuration file (YAML or JSON); default ./estafeta.yaml when present')
    .option('--roles <roles>', 'comma-separated roles: api, sender, mta, inbound, feedback')
    .option('--port <port>', 'HTTP port (default 8025, or ESTAFETA_HTTP_PORT)')
    .option('--database <url>', 'sqlite:PATH or postgres://USER:PASSWORD@HOST/DATABASE (default sqlite:./data/estafeta.db, or DATABASE_URL)')
    .option('--log-format <format>', 'auto (readable on a terminal, JSON otherwise), json or pretty (or ESTAFETA_LOG_FORMAT)')
    .option('--demo', 'run `estafeta demo` instead: the ISP simulator and a sample delivery on a fresh database')
    // `npm start -- --demo --recipients 500` passes the demo's own options through.
    .addOption(new Option('--recipients <n>', 'with --demo: recipients of the sample delivery').hideHelp())
    .addOption(new Option('--json', 'with --demo: print the final KPIs as JSON and exit').hideHelp())
    .addOption(new Option('--exit', 'with --demo: exit once the delivery is final').hideHelp())
    .action(async (o) => {
      // Loaded here, not at the top: the other commands start without the platform.
      if (o.demo) return (await import('./demo-run.ts')).runDemoCommand({ recipients: o.recipients, json: o.json, exit: o.exit, port: o.port, database: o.database });
      const { loadConfig, ConfigError } = await import('../../config/index.ts');
      const { startEstafeta } = await import('../../app/start.ts');
      const { startBanner } = await import('../../app/banner.ts');
      let config;
      try {
        config = loadConfig({
          file: o.config,
          overrides: {
            roles: o.roles ? String(o.roles).split(',').map((s: string) => s.trim()) : undefined,
            'http.port': o.port ? Number(o.port) : undefined,
            'database.url': o.database,
            'log.format': o.logFormat,
          },
        });
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.message);
        throw err;
      }
      // Listened for before starting: a SIGTERM while the roles start (a pod stopped as it
      // came up) waits for the start to finish, then stops it as it would later, instead of
      // killing the process with leases taken and listeners half open.
      let signalled = false;
      let onSignal = () => {
        signalled = true;
      };
      const listener = () => onSignal();
      process.once('SIGINT', listener);
      process.once('SIGTERM', listener);
      const app = await startEstafeta(config);
      process.stderr.write(
        startBanner({
          url: app.url,
          databaseUrl: config.database.url,
          roles: config.roles,
          bounces: config.roles.includes('inbound') ? config.bounces.listen : null,
          submission: config.roles.includes('submission') ? config.submission.listen : null,
        }),
      );
      if (!signalled) await new Promise<void>((resolve) => (onSignal = resolve));
      process.stderr.write('stopping...\n');
      await app.stop();
    });
}
