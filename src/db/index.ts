export { openDatabase, type Db, type Dialect, type OpenOptions, type Q } from './connect.ts';
export { migrateToLatest, MIGRATION_NAMES } from './migrate.ts';
export { chunk, insertChunked } from './batch.ts';
export { getSetting, setSetting, compareAndSetSetting } from './settings.ts';
export type * from './schema.ts';
export { ReusableStatement } from './reusable-statement.ts';
