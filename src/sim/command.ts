/**
 * `estafeta sim`: runs the ISP simulator until SIGINT/SIGTERM, prints where it listens
 * (human text, or one JSON line with --json) and serves its counters over HTTP:
 *   GET /counts              SimCounts as JSON
 *   GET /recipients/ADDRESS  one recipient's counts (404 if never attempted)
 *   GET /outbox              DSNs, complaints and auto-replies written so far (?raw=1 with bodies)
 *   GET /mx-hosts            simulated MX hosts and their domains
 *
 * Also runnable alone: `npx tsx src/sim/command.ts --json`. Option parsing is here so the
 * CLI can pass its argv through; it does not read Estafeta's configuration.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startSimulator, type Simulator } from './index.ts';
import { SIM_COMMAND_USAGE } from './usage.ts';

export interface SimCommandOptions {
  host?: string;
  dnsPort?: number;
  smtpPort?: number;
  /** HTTP port of the counts endpoint (0: a free port). */
  httpPort?: number;
  profiles?: string;
  /** "host:port" of Estafeta's bounce listener; absent keeps async mails in memory. */
  inbound?: string;
  asyncDelayMs?: number;
  /** Simulated opens, clicks and unsubscriptions of accepted mail (off by default). */
  engagement?: boolean;
  /** Multiplies the engagement delays (default 1: real time). */
  timeScale?: number;
  json?: boolean;
  logLevel?: string;
}

export { SIM_COMMAND_USAGE };

/** Parses `estafeta sim` arguments; throws with the usage on a bad one. */
export function parseSimCommandArgs(argv: string[]): SimCommandOptions {
  const options = {
    'dns-port': { type: 'string' },
    'smtp-port': { type: 'string' },
    'http-port': { type: 'string' },
    host: { type: 'string' },
    profiles: { type: 'string' },
    inbound: { type: 'string' },
    'async-delay-ms': { type: 'string' },
    engagement: { type: 'boolean' },
    'time-scale': { type: 'string' },
    json: { type: 'boolean' },
    'log-level': { type: 'string' },
  } as const;
  let parsed;
  try {
    parsed = parseArgs({ args: argv, strict: true, options });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${SIM_COMMAND_USAGE}`);
  }
  const values = parsed.values;
  const port = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name} must be a port number (0-65535), got "${v}"\n${SIM_COMMAND_USAGE}`);
    return n;
  };
  if (values.inbound !== undefined) parseHostPort(values.inbound);
  const delay = values['async-delay-ms'] === undefined ? undefined : Number(values['async-delay-ms']);
  if (delay !== undefined && !(delay >= 0)) throw new Error(`--async-delay-ms must be a number of milliseconds\n${SIM_COMMAND_USAGE}`);
  const timeScale = values['time-scale'] === undefined ? undefined : Number(values['time-scale']);
  if (timeScale !== undefined && !(timeScale > 0)) throw new Error(`--time-scale must be a positive number such as 0.01\n${SIM_COMMAND_USAGE}`);
  return {
    dnsPort: port('dns-port', values['dns-port']),
    smtpPort: port('smtp-port', values['smtp-port']),
    httpPort: port('http-port', values['http-port']),
    host: values.host,
    profiles: values.profiles,
    inbound: values.inbound,
    asyncDelayMs: delay,
    engagement: values.engagement || timeScale !== undefined || undefined,
    timeScale,
    json: values.json,
    logLevel: values['log-level'],
  };
}

function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new Error(`--inbound must be HOST:PORT, got "${text}"`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** Starts the simulator and runs until SIGINT or SIGTERM; resolves once it has stopped. */
export async function runSimulatorCommand(args: string[] | SimCommandOptions = []): Promise<void> {
  const o = Array.isArray(args) ? parseSimCommandArgs(args) : args;
  const host = o.host ?? '127.0.0.1';
  const logger = pino({ level: o.logLevel ?? 'warn' }, pino.destination(2));
  const inbound = o.inbound ? parseHostPort(o.inbound) : null;
  const sim = await startSimulator({ host, dnsPort: o.dnsPort ?? 5300, smtpPort: o.smtpPort ?? 2525, profilesFile: o.profiles, inbound, asyncDelayMs: o.asyncDelayMs, engagement: o.engagement ? { timeScale: o.timeScale } : false, logger });
  let http: Server;
  try {
    http = await serveCounts(sim, host, o.httpPort ?? 8026);
  } catch (err) {
    await sim.stop();
    throw err;
  }
  const countsUrl = `http://${host}:${(http.address() as AddressInfo).port}/counts`;
  const info = {
    dns: { host: sim.dns.host, port: sim.dns.port },
    smtpPort: sim.smtpPort,
    domains: sim.domains(),
    brokenDomains: sim.brokenDomains(),
    mxHosts: sim.mxHosts(),
    countsUrl,
    inbound,
    engagement: o.engagement ? { timeScale: o.timeScale ?? 1 } : null,
  };
  if (o.json) process.stdout.write(JSON.stringify(info) + '\n');
  else process.stdout.write(describe(info));

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const totals = sim.counts().totals;
  await new Promise<void>((resolve) => http.close(() => resolve()));
  http.closeAllConnections();
  await sim.stop();
  if (!o.json) process.stdout.write(`Simulator stopped: ${totals.messages} messages accepted, ${totals.deferred} recipients deferred, ${totals.rejected} rejected.\n`);
}

function describe(info: { dns: { host: string; port: number }; smtpPort: number; mxHosts: ReturnType<Simulator['mxHosts']>; brokenDomains: ReturnType<Simulator['brokenDomains']>; countsUrl: string; inbound: { host: string; port: number } | null; engagement: { timeScale: number } | null }): string {
  const byProvider = new Map<string, typeof info.mxHosts>();
  for (const h of info.mxHosts) byProvider.set(h.provider, [...(byProvider.get(h.provider) ?? []), h]);
  const lines = [
    'Estafeta ISP simulator',
    `  DNS         ${info.dns.host}:${info.dns.port} (UDP and TCP)`,
    `  SMTP        port ${info.smtpPort} on ${info.mxHosts.length} MX hosts`,
    ...[...byProvider].map(([name, hosts]) => `    ${name.padEnd(10)} ${hosts[0].domains.join(', ')}  ->  ${hosts.map((h) => `${h.name} ${h.ip}`).join(', ')}`),
    `  Broken      ${info.brokenDomains.map((b) => `${b.domain} (${b.kind})`).join(', ') || 'none'}`,
    `  Counts      ${info.countsUrl}`,
    `  Async mail  ${info.inbound ? `delivered to ${info.inbound.host}:${info.inbound.port}` : `kept in memory (${info.countsUrl.replace(/counts$/, 'outbox')})`}`,
    `  Engagement  ${info.engagement ? `recipients open and click tracked links (delays x${info.engagement.timeScale}); Estafeta needs ESTAFETA_TRUSTED_PROXIES=127.0.0.1 to see the proxies' addresses` : 'off (--engagement to have recipients open and click)'}`,
    '',
    `Point Estafeta at it: ESTAFETA_DNS_SERVERS=${info.dns.host}:${info.dns.port} ESTAFETA_MX_PORT=${info.smtpPort}`,
    'Recipients like unknown-x@gmail.sim, full-x@yahoo.sim or bounce-later-x@outlook.sim choose their fate (see the profiles file).',
    ...(info.inbound ? [] : ['To have bounces reach Estafeta, add --inbound 127.0.0.1:2526 (its bounce listener).']),
    'Press Ctrl-C to stop.',
    '',
  ];
  return lines.join('\n');
}

function serveCounts(sim: Simulator, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { error: 'only GET' });
    if (url.pathname === '/counts') return send(200, sim.counts());
    if (url.pathname === '/mx-hosts') return send(200, { mxHosts: sim.mxHosts(), domains: sim.domains(), brokenDomains: sim.brokenDomains() });
    if (url.pathname.startsWith('/recipients/')) {
      const address = decodeURIComponent(url.pathname.slice('/recipients/'.length));
      const counts = sim.recipient(address);
      return counts ? send(200, { address, ...counts }) : send(404, { error: `${address} was never attempted` });
    }
    if (url.pathname === '/outbox') {
      const raw = url.searchParams.get('raw') === '1';
      return send(200, sim.outbox().map(({ raw: body, ...m }) => (raw ? { ...m, raw: body.toString('latin1') } : m)));
    }
    if (url.pathname === '/health') return send(200, { ok: true });
    send(404, { error: 'try /counts, /recipients/ADDRESS, /outbox or /mx-hosts' });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runSimulatorCommand(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`estafeta sim: ${err.message}\n`);
    process.exit(1);
  });
}
