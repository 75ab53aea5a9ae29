/**
 * First start: with no user at all, create "admin" with the password from
 * ESTAFETA_ADMIN_PASSWORD, or a generated one printed once. Several API processes may start
 * together on one PostgreSQL; only the one whose insert wins prints a password.
 */
import type { Q } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import { newPassword } from './secrets.ts';
import { countUsers, insertUser } from './users.ts';

export async function ensureAdmin(q: Q, logger: Logger, configured: string | undefined, print: (text: string) => void = (t) => process.stderr.write(t)): Promise<void> {
  if ((await countUsers(q)) > 0) return;
  const password = configured || newPassword();
  const user = await insertUser(q, { name: 'admin', password, role: 'admin' });
  if (!user) return;
  if (configured) {
    logger.info('created the "admin" user with the password from ESTAFETA_ADMIN_PASSWORD');
    return;
  }
  logger.warn('created the "admin" user with a generated password (printed once on the console)');
  print(
    '\n  Estafeta created the first user.\n' +
      '    user:     admin\n' +
      `    password: ${password}\n` +
      '  It is shown only this once: sign in and change it, or create other users.\n' +
      '  (Set ESTAFETA_ADMIN_PASSWORD before the first start to choose it.)\n\n',
  );
}
