/**
 * Loads the configuration: defaults, then a YAML or JSON file (ESTAFETA_CONFIG, --config, or
 * ./estafeta.yaml when present), then environment variables. Validates once at startup and
 * throws a ConfigError whose message lists every problem and where the value came from. A
 * setting the file names that does not exist (a typo) is an error with the nearest name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { configSchema, type Config } from './schema.ts';
import { unknownKeys } from './unknown-keys.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Environment variables and the config path they override. */
const ENV_MAP: [string, string, (v: string) => unknown][] = [
  ['DATABASE_URL', 'database.url', String],
  ['ESTAFETA_HTTP_HOST', 'http.host', String],
  ['ESTAFETA_HTTP_PORT', 'http.port', Number],
  ['ESTAFETA_TRUSTED_PROXIES', 'http.trustedProxies', (v) => v.split(',').map((s) => s.trim()).filter(Boolean)],
  ['ESTAFETA_PUBLIC_URL', 'publicUrl', String],
  ['ESTAFETA_TRACKING_PORT', 'tracking.listen.port', Number],
  ['ESTAFETA_TRACKING_URL', 'tracking.publicUrl', String],
  ['ESTAFETA_SECRET', 'secret', String],
  ['ESTAFETA_ROLES', 'roles', (v) => v.split(',').map((s) => s.trim()).filter(Boolean)],
  ['ESTAFETA_LOG_LEVEL', 'log.level', String],
  ['ESTAFETA_LOG_FORMAT', 'log.format', String],
  ['ESTAFETA_DNS_SERVERS', 'dns.servers', (v) => v.split(',').map((s) => s.trim()).filter(Boolean)],
  ['ESTAFETA_MX_PORT', 'mta.port', Number],
  ['ESTAFETA_HELO_NAME', 'mta.heloName', String],
  ['ESTAFETA_MTA_LEASE', 'mta.lease', String],
  ['ESTAFETA_BOUNCE_DOMAIN', 'bounces.domain', String],
  ['ESTAFETA_BOUNCE_PORT', 'bounces.listen.port', Number],
  ['ESTAFETA_SUBMISSION_PORT', 'submission.listen.port', Number],
  ['ESTAFETA_SUBMISSION_TLS_DIR', 'submission.tls.dir', String],
  ['ESTAFETA_POLICY_DIR', 'policy.dir', String],
];

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values that win over file and environment (command-line flags, tests). */
  overrides?: Record<string, unknown>;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const sources = new Map<string, string>();
  const raw: Record<string, unknown> = {};

  const file = options.file ?? env.ESTAFETA_CONFIG ?? (existsSync('estafeta.yaml') ? 'estafeta.yaml' : undefined);
  if (file) {
    const fromFile = readConfigFile(file);
    const unknown = unknownKeys(configSchema, fromFile);
    if (unknown.length) {
      const lines = unknown.map((u) => `  - ${u.path}: not a setting${u.suggestion ? ` (did you mean \`${u.path.replace(/[^.]+$/, u.suggestion)}\`?)` : ''}`);
      throw new ConfigError(`config file ${file} has settings Estafeta does not know:\n${lines.join('\n')}\nFix or remove them; the README's configuration table lists every setting.`);
    }
    mergeInto(raw, fromFile, '', sources, `file ${file}`);
  }
  for (const [name, path, convert] of ENV_MAP) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(raw, path, convert(value));
    sources.set(path, `environment variable ${name}`);
  }
  for (const [path, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) continue;
    setPath(raw, path, value);
    sources.set(path, 'command line');
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const path = issue.path.join('.');
      const from = sources.get(path) ?? [...sources.entries()].find(([p]) => path.startsWith(p))?.[1];
      return `  - ${path || '(root)'}: ${issue.message}${from ? ` [from ${from}]` : ''}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

function readConfigFile(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new ConfigError(`config file ${file} does not exist`);
  try {
    const text = readFileSync(file, 'utf8');
    const value = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    if (value === null || value === undefined) return {};
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error('the top level must be a mapping of settings');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>, prefix: string, sources: Map<string, string>, origin: string) {
  for (const [key, value] of Object.entries(source)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const child = (target[key] ??= {}) as Record<string, unknown>;
      mergeInto(child, value as Record<string, unknown>, path, sources, origin);
    } else {
      target[key] = value;
      sources.set(path, origin);
    }
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown) {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys[keys.length - 1]] = value;
}
