/**
 * Asks for a secret on the terminal without echoing it. Without a terminal (a script, CI)
 * it refuses instead of hanging: scripts pass secrets through the environment.
 */
import { CliError } from './client.ts';

export function readSecret(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return Promise.reject(new CliError('no terminal to ask for the password: set ESTAFETA_PASSWORD, or use an API key'));
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(() => resolve(value));
        if (ch === '\u0003') return done(() => reject(new CliError('cancelled', 130)));
        if (ch === '\u007f') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = (then: () => void) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      then();
    };
    stdin.on('data', onData);
  });
}
