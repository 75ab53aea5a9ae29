/**
 * DKIM keys per sender domain and selector. Every active key of a domain signs its
 * messages (two during a key rotation). The private key is PKCS#8 PEM and is only ever read
 * by the signer; the public key is the base64 p= value of the DNS record.
 */
import type { Kysely, CreateTableBuilder } from 'kysely';
import type { Db } from '../connect.ts';

export async function migration0002(db: Kysely<unknown>, dialect: Db['dialect']): Promise<void> {
  const id = <T extends string>(t: CreateTableBuilder<T, never>) =>
    dialect === 'postgres' ? t.addColumn('id', 'bigserial', (c) => c.primaryKey()) : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());

  await id(db.schema.createTable('dkim_keys'))
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('selector', 'text', (c) => c.notNull())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('private_key', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    // One DNS name per (selector, domain): a selector cannot name two keys at once.
    .addUniqueConstraint('dkim_keys_domain_selector', ['domain', 'selector'])
    .execute();
}
