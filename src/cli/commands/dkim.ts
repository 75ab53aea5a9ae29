/**
 * `estafeta dkim ...`: DKIM keys per sender domain through the API. `create` generates a
 * key (or imports a PEM private key) and prints the DNS record to publish; `list` shows
 * every key with its record; `deactivate`, `activate` and `delete` handle a rotation.
 * Private keys are never printed: the API does not return them.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { ApiClient } from '../client.ts';
import { CliError } from '../client.ts';
import { idOf } from '../args.ts';
import { JSON_HELP, printJson, printPairs, printTable } from '../format.ts';
import type { DkimKey, DkimKeyList } from '../../api/contract.ts';

type Client = () => ApiClient;

const ALGORITHMS: Record<string, string> = { rsa: 'rsa-sha256', 'rsa-sha256': 'rsa-sha256', ed25519: 'ed25519-sha256', 'ed25519-sha256': 'ed25519-sha256' };

function showKey(k: DkimKey): void {
  printPairs([
    ['Key', `${k.id} (${k.active ? 'active' : 'inactive'})`],
    ['Domain', k.domain],
    ['Selector', k.selector],
    ['Algorithm', k.algorithm],
    ['DNS name', k.dns.name],
    ['DNS TXT', k.dns.value],
  ]);
  process.stdout.write(`\nZone file:\n${k.dns.zoneFile}\n`);
}

export function dkimCommand(client: Client): Command {
  const cmd = new Command('dkim').description('DKIM keys per sender domain (selectors, rotation, DNS records)');

  cmd
    .command('list')
    .description('every key, with the DNS record to publish')
    .option('--domain <domain>', 'only this sender domain')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const { keys } = await client().get<DkimKeyList>(`/dkim/keys${o.domain ? `?domain=${encodeURIComponent(o.domain)}` : ''}`);
      if (o.json) return printJson(keys);
      if (!keys.length) return void process.stdout.write('no DKIM keys: messages go out unsigned (estafeta dkim create <domain> --selector <name>)\n');
      printTable(['id', 'domain', 'selector', 'algorithm', 'active', 'DNS name'], keys.map((k) => [k.id, k.domain, k.selector, k.algorithm, k.active ? 'yes' : 'no', k.dns.name]));
    });

  cmd
    .command('create <domain>')
    .description('create a key for a sender domain; it signs from the next batch on, so publish its DNS record first')
    .requiredOption('--selector <name>', 'the selector, e.g. s2026 (the DNS name is <selector>._domainkey.<domain>)')
    .option('--algorithm <rsa|ed25519>', "rsa (2048 bits, every receiver checks it) or ed25519 (RFC 8463); sign with both for Ed25519; default rsa, or the imported key's own")
    .option('--import <key.pem>', 'use this PEM private key instead of generating one')
    .option('--json', JSON_HELP)
    .action(async (domain, o) => {
      const algorithm = o.algorithm === undefined ? undefined : ALGORITHMS[String(o.algorithm).toLowerCase()];
      if (o.algorithm !== undefined && !algorithm) throw new CliError(`--algorithm: "${o.algorithm}" is not rsa or ed25519`);
      let privateKey: string | undefined;
      if (o.import) {
        try {
          privateKey = readFileSync(o.import, 'utf8');
        } catch (err) {
          throw new CliError(`cannot read ${o.import}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
      const k = await client().post<DkimKey>('/dkim/keys', { domain, selector: o.selector, algorithm, privateKey });
      if (o.json) return printJson(k);
      showKey(k);
    });

  cmd.command('show <id>').description('one key with the DNS record to publish').option('--json', JSON_HELP).action(async (id, o) => {
    const k = await client().get<DkimKey>(`/dkim/keys/${idOf('DKIM key', id)}`);
    if (o.json) return printJson(k);
    showKey(k);
  });

  for (const [action, done] of [['deactivate', 'no longer signs'], ['activate', 'signs again']] as const) {
    cmd
      .command(`${action} <id>`)
      .description(action === 'activate' ? 'sign with this key again' : 'stop signing with this key (a rotation: activate the new one first)')
      .option('--json', JSON_HELP)
      .action(async (id, o) => {
        const k = await client().post<DkimKey>(`/dkim/keys/${idOf('DKIM key', id)}/${action}`);
        if (o.json) return printJson(k);
        process.stdout.write(`key ${k.id} (${k.selector}._domainkey.${k.domain}) ${done}\n`);
      });
  }

  cmd.command('delete <id>').description('delete a key for good (its private key is gone)').option('--json', JSON_HELP).action(async (id, o) => {
    await client().delete(`/dkim/keys/${idOf('DKIM key', id)}`);
    if (o.json) return printJson({ deleted: idOf('DKIM key', id) });
    process.stdout.write(`deleted key ${idOf('DKIM key', id)}; remove its DNS record once mail signed with it has been delivered\n`);
  });

  return cmd;
}
