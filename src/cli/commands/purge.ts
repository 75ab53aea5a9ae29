/**
 * `estafeta purge`: deletes the logs and events of final deliveries older than a given age,
 * in small batches (retention/purge.ts), working on the database directly like the feedback
 * role's hourly purge, so that it runs from cron without the API. The deliveries and their
 * counters (the KPIs) stay.
 */
import { Command } from 'commander';
import { CliError } from '../client.ts';
import { JSON_HELP, printJson } from '../format.ts';
import { num } from '../words.ts';

export function purgeCommand(): Command {
  return new Command('purge')
    .description('delete the logs and events of deliveries finished longer ago than --older-than (their KPIs stay), in small batches; the feedback role does it hourly when retention.logs or retention.events is set')
    .requiredOption('--older-than <duration>', 'age of the deliveries whose logs go (with their events), at least a day: e.g. 90d')
    .option('--events-older-than <duration>', 'also delete only the events (the logs stay) of deliveries older than this, shorter than --older-than')
    .option('--dry-run', 'count what would be deleted, delete nothing')
    .option('--config <file>', 'configuration file (for the database)')
    .option('--database <url>', 'sqlite:/path/file.db or postgres://... (default: the configuration, or DATABASE_URL)')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      // Loaded here: the commands that go through the API start without the database code.
      const { loadConfig, ConfigError } = await import('../../config/index.ts');
      const { openDatabase } = await import('../../db/index.ts');
      const { purgeOldData, retentionCutoffs } = await import('../../retention/index.ts');
      let config;
      try {
        config = loadConfig({ file: o.config, overrides: { 'database.url': o.database, 'retention.logs': o.olderThan, 'retention.events': o.eventsOlderThan ?? 'off' } });
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.message.replace(/retention\.logs/g, '--older-than').replace(/retention\.events/g, '--events-older-than'));
        throw err;
      }
      const db = await openDatabase(config.database.url);
      try {
        const report = await purgeOldData(db, {
          ...retentionCutoffs(config.retention),
          dryRun: Boolean(o.dryRun),
          onDelivery: (id, p) => {
            if (!o.json && (p.logs || p.events)) process.stderr.write(`delivery ${id}: ${num(p.logs)} logs, ${num(p.events)} events${o.dryRun ? ' would go' : ' deleted'}\n`);
          },
        });
        if (o.json) return printJson(report);
        process.stdout.write(`${o.dryRun ? 'would delete' : 'deleted'} ${num(report.logs)} logs and ${num(report.events)} events of ${num(report.deliveries)} deliveries in ${(report.ms / 1000).toFixed(1)} s${report.keptBack ? `; ${num(report.keptBack)} logs or events kept back (or events: not applied or not posted to a webhook yet; a later run takes them)` : ''}\n`);
      } finally {
        await db.close();
      }
    });
}
