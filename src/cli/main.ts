/**
 * The `estafeta` command line. `start` runs the platform; the other commands talk to a
 * running one through its HTTP API (--api, ESTAFETA_API_URL; default http://127.0.0.1:8025).
 * bin/estafeta.js runs this file compiled (scripts/build-cli.mjs), or through tsx.
 */
import { CommanderError } from 'commander';
import { CliError } from './client.ts';
import { EstafetaError } from '../lib/errors.ts';
import { buildProgram } from './program.ts';

try {
  await buildProgram().parseAsync(process.argv);
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
