export { loadConfig, ConfigError, type LoadOptions } from './load.ts';
export { configSchema, ROLES, type Config, type ConfigInput, type Role } from './schema.ts';
