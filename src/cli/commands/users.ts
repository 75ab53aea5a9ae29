/**
 * `estafeta users ...` and `estafeta api-keys ...`: who may use Estafeta, through the API
 * (admin only), plus `users reset-password`, which works on the database directly for when
 * the only admin password is lost.
 */
import { Command } from 'commander';
import type { ApiClient } from '../client.ts';
import { CliError } from '../client.ts';
import { JSON_HELP, printJson, printTable } from '../format.ts';
import { readSecret } from '../prompt.ts';
import { dateTime } from '../words.ts';
import type { ApiKeyCreated, ApiKeyList, UserAccount, UserList } from '../../api/contract.ts';

type Client = () => ApiClient;

const password = async (given: string | undefined) => given ?? process.env.ESTAFETA_NEW_PASSWORD ?? readSecret('new password: ');

async function userId(api: ApiClient, name: string): Promise<number> {
  const { users } = await api.get<UserList>('/users');
  const u = users.find((x) => x.name === name.toLowerCase());
  if (!u) throw new CliError(`no user named "${name}"`, 4);
  return u.id;
}

export function usersCommand(client: Client): Command {
  const cmd = new Command('users').description('users of the dashboard and the API (admin role)');
  cmd.command('list').description('every user with their role and last sign-in').option('--json', JSON_HELP).action(async (o) => {
    const { users } = await client().get<UserList>('/users');
    if (o.json) return printJson(users);
    printTable(['id', 'name', 'role', 'last sign-in'], users.map((u) => [u.id, u.name, u.role, dateTime(u.lastLoginAt) || 'never']));
  });
  cmd
    .command('create <name>')
    .description('create a user; the password comes from --password, ESTAFETA_NEW_PASSWORD, or is asked')
    .option('--role <role>', 'viewer, operator or admin', 'viewer')
    .option('--password <password>', 'the new user\'s password (visible in the process list: prefer ESTAFETA_NEW_PASSWORD or the prompt)')
    .action(async (name, o) => {
      const u = await client().post<UserAccount>('/users', { name, role: o.role, password: await password(o.password) });
      process.stdout.write(`created user ${u.name} (${u.role})\n`);
    });
  cmd.command('set-role <name> <role>').description('change a user\'s role: viewer, operator or admin').action(async (name, role) => {
    const api = client();
    const u = await api.patch<UserAccount>(`/users/${await userId(api, name)}`, { role });
    process.stdout.write(`${u.name} is now ${u.role}\n`);
  });
  cmd
    .command('set-password <name>')
    .description("change a user's password and sign out their sessions; from --password, ESTAFETA_NEW_PASSWORD, or asked")
    .option('--password <password>', 'the new password (visible in the process list: prefer ESTAFETA_NEW_PASSWORD or the prompt)')
    .action(async (name, o) => {
    const api = client();
    await api.patch(`/users/${await userId(api, name)}`, { password: await password(o.password) });
    process.stdout.write(`password of ${name} changed; their sessions are signed out\n`);
  });
  cmd.command('delete <name>').description('delete a user and sign out their sessions').action(async (name) => {
    const api = client();
    await api.delete(`/users/${await userId(api, name)}`);
    process.stdout.write(`deleted user ${name}\n`);
  });
  cmd
    .command('reset-password <name>')
    .description('set a new generated password directly in the database (no API, no sign-in needed)')
    .option('--config <file>', 'configuration file')
    .option('--database <url>', 'sqlite:/path/file.db or postgres://...')
    .action(async (name, o) => {
      // Loaded here: the commands that go through the API start without the database code.
      const { loadConfig } = await import('../../config/index.ts');
      const { openDatabase } = await import('../../db/index.ts');
      const { newPassword, normalizeName, updateUser } = await import('../../auth/index.ts');
      const config = loadConfig({ file: o.config, overrides: { 'database.url': o.database } });
      const db = await openDatabase(config.database.url);
      try {
        const row = await db.kysely.selectFrom('users').select('id').where('name', '=', normalizeName(name)).executeTakeFirst();
        if (!row) throw new CliError(`no user named "${name}" in ${config.database.url}`, 4);
        const pw = newPassword();
        await updateUser(db.kysely, Number(row.id), { password: pw });
        process.stdout.write(`new password for ${normalizeName(name)}: ${pw}\n`);
      } finally {
        await db.close();
      }
    });
  return cmd;
}

export function apiKeysCommand(client: Client): Command {
  const cmd = new Command('api-keys').description('API keys for scripts (admin role); a key is shown once, when created');
  cmd.command('list').description('every API key: name, role, first characters, last use (never the key)').option('--json', JSON_HELP).action(async (o) => {
    const { apiKeys } = await client().get<ApiKeyList>('/api-keys');
    if (o.json) return printJson(apiKeys);
    printTable(['id', 'name', 'role', 'starts with', 'created by', 'last used'], apiKeys.map((k) => [k.id, k.name, k.role, `${k.prefix}...`, k.createdBy, dateTime(k.lastUsedAt) || 'never']));
  });
  cmd
    .command('create <name>')
    .description('create an API key and print it, once, on standard output')
    .option('--role <role>', 'viewer, operator or admin', 'operator')
    .option('--streams <streams>', 'limit the key to these streams (comma-separated names or ids): it may send to them and read them, nothing else')
    .option('--json', JSON_HELP)
    .action(async (name, o) => {
      const streams = o.streams ? String(o.streams).split(',').map((s: string) => s.trim()).filter(Boolean) : undefined;
      const k = await client().post<ApiKeyCreated>('/api-keys', { name, role: o.role, ...(streams ? { streams } : {}) });
      if (o.json) return printJson(k);
      process.stdout.write(`${k.key}\n`);
      process.stderr.write(`API key "${k.name}" (${k.role}${k.streams ? `, limited to streams ${k.streams.join(', ')}` : ''}): shown only this once. Use it as ESTAFETA_API_KEY or "Authorization: Bearer <key>".\n`);
    });
  cmd.command('revoke <name>').description('revoke an API key by its name: scripts using it are refused from now on').action(async (name) => {
    const api = client();
    const { apiKeys } = await api.get<ApiKeyList>('/api-keys');
    const k = apiKeys.find((x) => x.name === name);
    if (!k) throw new CliError(`no API key named "${name}"`, 4);
    await api.delete(`/api-keys/${k.id}`);
    process.stdout.write(`revoked API key ${name}\n`);
  });
  return cmd;
}
