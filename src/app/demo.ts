/**
 * `estafeta demo`: the ISP simulator and a whole Estafeta in one process, wired to each
 * other, on a fresh SQLite file. Estafeta resolves MX through the simulator's DNS, sends
 * to its MX port from a 127.0.0.x address, and the simulator sends DSNs, complaints and
 * auto-replies back to Estafeta's bounce listener, and its simulated recipients open, click
 * and unsubscribe through the tracking URLs of the mail they got (people, privacy proxies
 * and link scanners: src/sim/engagement.ts). Nothing in Estafeta is special-cased:
 * the demo only chooses configuration (`demoConfig`) and policy files (`demo-policy.ts`).
 *
 * The sample delivery itself is run through the HTTP API in `demo-run.ts`.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { pino, type Logger } from 'pino';
import { configSchema, type Config } from '../config/index.ts';
import { startSimulator, type Simulator } from '../sim/index.ts';
import { createApiKey, newPassword } from '../auth/index.ts';
import { startEstafeta, type App } from './start.ts';
import { DEMO_BOUNCE_DOMAIN, DEMO_RETRY, DEMO_SENDING_IPS, demoDnsRecords, writeDemoPolicyDir } from './demo-policy.ts';
import { claimDemoFile, newDemoFile } from './demo-files.ts';

export interface DemoWorldOptions {
  /** Database URL; default a new `sqlite:./data/demo/demo-<timestamp>.db` (demo-files.ts). */
  database?: string;
  httpHost?: string;
  /** HTTP port; default 8025, or a free port when 8025 is taken. 0 = any free port. */
  httpPort?: number;
  /** Delay before the simulator sends a DSN / complaint / auto-reply. */
  asyncDelayMs?: number;
  logger?: Logger;
}

export interface DemoWorld {
  app: App;
  sim: Simulator;
  /** Base URL: the dashboard at `/`, the API at `/api/v1`. */
  url: string;
  database: string;
  /** The SQLite file when the demo made its own (the default), else null. */
  databaseFile: string | null;
  admin: { user: string; password: string };
  /** Operator API key the demo itself uses to drive the delivery. */
  apiKey: string;
  logger: Logger;
  stop(): Promise<void>;
}

/**
 * The simulated recipients' delays (src/sim/engagement.ts) compressed 120 times: an open a
 * quarter of an hour after delivery comes after 7.5 s, the slowest within two minutes.
 */
export const DEMO_ENGAGEMENT_TIME_SCALE = 1 / 120;

/** Estafeta's configuration for the demo: everything points at the simulator. */
export function demoConfig(o: { database: string; httpHost: string; httpPort: number; bouncePort: number; sim: Simulator; policyDir: string }): Config {
  return configSchema.parse({
    database: { url: o.database },
    // The simulated privacy proxies and scanners say who they are in X-Forwarded-For (they
    // all come from loopback): trusting it lets Estafeta tell their opens and clicks apart.
    http: { host: o.httpHost, port: o.httpPort, trustedProxies: ['127.0.0.1'] },
    log: { level: 'warn' },
    dns: { servers: [`${o.sim.dns.host}:${o.sim.dns.port}`], timeoutMs: 2000 },
    mta: {
      port: o.sim.smtpPort,
      // Used only if the demo's sending-ips.yaml were removed.
      localAddress: DEMO_SENDING_IPS[0],
      heloName: 'demo.estafeta.localhost',
      connectTimeout: '5s',
      commandTimeout: '20s',
      retry: DEMO_RETRY,
    },
    bounces: { domain: DEMO_BOUNCE_DOMAIN, listen: { host: '127.0.0.1', port: o.bouncePort } },
    // Any free port, so a demo beside a running Estafeta (587) still starts; a self-signed certificate.
    submission: { listen: { host: '127.0.0.1', port: 0 }, tls: { dir: join(tmpdir(), 'estafeta-demo-tls') } },
    policy: { dir: o.policyDir },
  });
}

export async function startDemoWorld(o: DemoWorldOptions = {}): Promise<DemoWorld> {
  const logger = o.logger ?? pino({ level: process.env.ESTAFETA_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const databaseFile = o.database ? null : newDemoFile();
  const database = o.database ?? `sqlite:${databaseFile}`;
  // While it runs, `estafeta demo --clean` in another terminal leaves its file alone.
  const claim = databaseFile ? claimDemoFile(databaseFile) : null;
  const httpHost = o.httpHost ?? '127.0.0.1';
  const wantedPort = o.httpPort ?? ((await isFree(httpHost, 8025)) ? 8025 : 0);
  // The tracking and unsubscribe URLs in sent mail are built from the configured port
  // (start.ts), so "any free port" is chosen here rather than left to listen().
  const httpPort = wantedPort === 0 ? await freePort(httpHost) : wantedPort;
  // The simulator needs the bounce listener's address before Estafeta starts, and Estafeta
  // needs the simulator's ports: pick a free port for the listener first.
  const bouncePort = await freePort('127.0.0.1');
  const sim = await startSimulator({ dnsPort: 0, smtpPort: 0, inbound: { host: '127.0.0.1', port: bouncePort }, asyncDelayMs: o.asyncDelayMs ?? 500, engagement: { timeScale: DEMO_ENGAGEMENT_TIME_SCALE }, logger: logger.child({ component: 'sim' }) });
  // SPF, DMARC and reverse DNS of the demo's sender, so its analysis shows them passing.
  sim.dns.addRecords(demoDnsRecords());
  const policyDir = writeDemoPolicyDir();
  const admin = { user: 'admin', password: process.env.ESTAFETA_ADMIN_PASSWORD || newPassword() };
  let app: App;
  try {
    const config = demoConfig({ database, httpHost, httpPort, bouncePort, sim, policyDir });
    app = await withEnv('ESTAFETA_ADMIN_PASSWORD', admin.password, () => startEstafeta(config, { logger }));
  } catch (err) {
    await sim.stop();
    rmSync(policyDir, { recursive: true, force: true });
    claim?.release();
    // A demo that did not start leaves no database behind.
    if (databaseFile) for (const f of [databaseFile, `${databaseFile}-wal`, `${databaseFile}-shm`]) rmSync(f, { force: true });
    throw err;
  }
  const apiKey = (await createApiKey(app.db.kysely, { name: 'demo', role: 'operator', createdBy: 'estafeta demo' })).key;
  return {
    app,
    sim,
    url: app.url!,
    database,
    databaseFile,
    admin,
    apiKey,
    logger,
    async stop() {
      try {
        await app.stop();
        await sim.stop();
      } finally {
        rmSync(policyDir, { recursive: true, force: true });
        claim?.release();
      }
    },
  };
}

/** Runs `fn` with an environment variable set, so the first start creates the admin we print. */
async function withEnv<T>(name: string, value: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env[name];
  process.env[name] = value;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

function listenOnce(host: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, host, () => {
      const chosen = (server.address() as { port: number }).port;
      server.close(() => resolve(chosen));
    });
  });
}

const isFree = async (host: string, port: number) => (await listenOnce(host, port)) !== null;

async function freePort(host: string): Promise<number> {
  const port = await listenOnce(host, 0);
  if (port === null) throw new Error(`no free TCP port on ${host}`);
  return port;
}
