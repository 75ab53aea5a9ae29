/**
 * The ISP simulator: a fake internet on loopback for the demo, the integration tests and
 * the benchmarks. `startSimulator` starts a DNS server answering for the simulated domains
 * and one smtp-server per simulated MX host (each on its own 127.0.N.M address, all on one
 * port), behaving as the provider profiles say, and sends DSNs, complaints and auto-replies
 * back to the bounce address of accepted messages; with `engagement`, simulated recipients
 * also open and click the tracked URLs of accepted mail.
 *
 * Nothing in the MTA needs to know about it: point the MTA's resolver at `dns.host:dns.port`
 * and its MX port at `smtpPort`.
 */
import { pino, type Logger } from 'pino';
import type { SMTPServer } from 'smtp-server';
import { AsyncFeedback, type AsyncMail, type AsyncStats } from './async-feedback.ts';
import { DeliveryCounters, type RecipientCounts, type RecipientSummary, type ReplyTally } from './counters.ts';
import { startSimDns, type SimDnsRecord } from './dns-server.ts';
import { Engagement, type EngagementOptions, type EngagementStats } from './engagement.ts';
import { ConnectionLimiter, Greylist, RateLimiter, type ConnectionStats } from './limits.ts';
import { startMxServer, type ReceivedMessage } from './mx-server.ts';
import { assignMxHosts, loadSimProfiles, parseSimProfiles, type BrokenDomain, type MxHost, type SimProfiles } from './profiles.ts';

export type { AsyncMail, AsyncStats, EngagementOptions, EngagementStats, ConnectionStats, ReceivedMessage, RecipientCounts, RecipientSummary, ReplyTally, SimDnsRecord, SimProfiles };
export { DEFAULT_PROFILES_FILE, SimProfileError, loadSimProfiles, parseSimProfiles } from './profiles.ts';

export interface SimulatorOptions {
  /** Address the DNS server binds (default 127.0.0.1). */
  host?: string;
  /** DNS port, UDP and TCP (default 0: a free port). */
  dnsPort?: number;
  /** SMTP port of every simulated MX host (default 2525; 0 picks a free one). */
  smtpPort?: number;
  /** YAML profiles file (default src/sim/profiles.yaml). */
  profilesFile?: string;
  /** Profiles as data, same shape as the file; wins over profilesFile. */
  profiles?: unknown;
  /** Where DSNs, complaints and auto-replies are delivered; null keeps them in `outbox()`. */
  inbound?: { host: string; port: number } | null;
  /** Keep accepted messages (headers and body) for `messages()`; tests only. */
  keepMessages?: boolean;
  /** Delay between accepting a message and sending its async mail (default 1000 ms). */
  asyncDelayMs?: number;
  /**
   * Simulated recipients open, click and unsubscribe through the URLs of accepted mail
   * (engagement.ts): off unless given; `true` uses the defaults (real-time delays).
   */
  engagement?: boolean | Omit<EngagementOptions, 'logger'>;
  /** Recipients counted one by one before only totals grow (default 5,000,000). */
  maxTrackedRecipients?: number;
  logger?: Logger;
}

export interface SimCounts {
  startedAt: string;
  /** All providers; `messages` counts accepted DATA transactions, `received` accepted recipients. */
  totals: ReplyTally & { messages: number };
  byDomain: Record<string, ReplyTally>;
  byProvider: Record<string, ReplyTally>;
  recipients: RecipientSummary;
  connections: ConnectionStats;
  async: AsyncStats;
  /** Null when engagement is off. */
  engagement: EngagementStats | null;
}

export interface SimMxHost {
  name: string;
  ip: string;
  priority: number;
  provider: string;
  domains: string[];
}

export interface Simulator {
  dns: {
    host: string;
    port: number;
    addRecords(...records: (SimDnsRecord | SimDnsRecord[])[]): void;
    removeRecords(name: string, type?: SimDnsRecord['type']): void;
  };
  smtpPort: number;
  mxHosts(): SimMxHost[];
  /** Domains served by the simulated providers. */
  domains(): string[];
  brokenDomains(): BrokenDomain[];
  counts(): SimCounts;
  /** Counts of one recipient, or null if it was never attempted. */
  recipient(address: string): RecipientCounts | null;
  /** Accepted messages, only with `keepMessages`. */
  messages(): ReceivedMessage[];
  /** DSNs, complaints and auto-replies written so far (sent or kept). */
  outbox(): AsyncMail[];
  /** Makes pending async mails due now. */
  flushAsync(): void;
  /** Resolves when no async mail is queued or being sent. */
  settle(): Promise<void>;
  /** Resolves when no open, click or unsubscription is waiting or running (at once when off). */
  settleEngagement(): Promise<void>;
  stop(): Promise<void>;
}

/** Addresses for MX hosts of `unreachable` domains: nothing listens there. */
const UNREACHABLE_NET = '127.0.254.';

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const profiles: SimProfiles = options.profiles !== undefined ? parseSimProfiles(options.profiles) : loadSimProfiles(options.profilesFile);
  const hosts = assignMxHosts(profiles);
  const startedAt = new Date().toISOString();

  const dns = await startSimDns({ host: options.host ?? '127.0.0.1', port: options.dnsPort ?? 0, ...zoneOf(hosts, profiles.brokenDomains) });
  const counters = new DeliveryCounters(options.maxTrackedRecipients);
  const connections = new ConnectionLimiter();
  const feedback = new AsyncFeedback({ delayMs: options.asyncDelayMs ?? 1000, inbound: options.inbound ?? null, logger });
  const engagement = options.engagement ? new Engagement({ ...(options.engagement === true ? {} : options.engagement), logger }) : null;
  const kept: ReceivedMessage[] = [];
  const ctx = {
    counters,
    connections,
    rates: new RateLimiter(),
    greylist: new Greylist(),
    feedback,
    engagement,
    keepMessages: options.keepMessages ?? false,
    onMessage: (m: ReceivedMessage) => kept.push(m),
    logger,
  };

  let servers: SMTPServer[];
  let smtpPort: number;
  try {
    ({ servers, port: smtpPort } = await startAllMx(hosts, options.smtpPort ?? 2525, ctx));
  } catch (err) {
    engagement?.stop();
    await dns.stop();
    throw err;
  }
  logger.info({ dns: `${dns.host}:${dns.port}`, smtpPort, hosts: hosts.length }, 'ISP simulator started');

  return {
    dns: { host: dns.host, port: dns.port, addRecords: dns.addRecords, removeRecords: dns.removeRecords },
    smtpPort,
    mxHosts: () => hosts.map((h) => ({ name: h.name, ip: h.ip, priority: h.priority, provider: h.provider.name, domains: [...h.provider.domains] })),
    domains: () => profiles.providers.flatMap((p) => p.domains),
    brokenDomains: () => profiles.brokenDomains.map((b) => ({ ...b })),
    counts: () => ({
      startedAt,
      totals: structuredClone(counters.totals),
      byDomain: structuredClone(counters.domains()),
      byProvider: structuredClone(counters.providers()),
      recipients: counters.recipientSummary(),
      connections: connections.stats(),
      async: feedback.stats(),
      engagement: engagement?.stats() ?? null,
    }),
    recipient: (address) => counters.recipient(address),
    messages: () => [...kept],
    outbox: () => feedback.outbox(),
    flushAsync: () => feedback.flush(),
    settle: () => feedback.settle(),
    settleEngagement: () => engagement?.settle() ?? Promise.resolve(),
    async stop() {
      feedback.stop();
      engagement?.stop();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      await dns.stop();
    },
  };
}

/** MX and A records for the providers, and the records that make broken domains broken. */
function zoneOf(hosts: MxHost[], broken: BrokenDomain[]): { records: SimDnsRecord[]; emptyNames: string[] } {
  const records: SimDnsRecord[] = [];
  const emptyNames: string[] = [];
  for (const h of hosts) {
    records.push({ name: h.name, type: 'A', address: h.ip });
    for (const domain of h.provider.domains) records.push({ name: domain, type: 'MX', exchange: h.name, priority: h.priority });
  }
  broken.forEach((b, i) => {
    if (b.kind === 'no-records') emptyNames.push(b.domain);
    if (b.kind === 'null-mx') records.push({ name: b.domain, type: 'MX', exchange: '.', priority: 0 });
    if (b.kind === 'mx-without-address') records.push({ name: b.domain, type: 'MX', exchange: `mx.${b.domain}`, priority: 10 });
    if (b.kind === 'unreachable') {
      records.push({ name: b.domain, type: 'MX', exchange: `mx.${b.domain}`, priority: 10 });
      records.push({ name: `mx.${b.domain}`, type: 'A', address: `${UNREACHABLE_NET}${i + 1}` });
    }
  });
  return { records, emptyNames };
}

/** Starts every MX host on one port; with port 0 the first host picks it, retried if taken. */
async function startAllMx(hosts: MxHost[], port: number, ctx: Parameters<typeof startMxServer>[2]) {
  for (let attempt = 0; ; attempt++) {
    const servers: SMTPServer[] = [];
    try {
      let chosen = port;
      for (const h of hosts) {
        const server = await startMxServer(h, chosen, ctx);
        servers.push(server);
        if (chosen === 0) chosen = (server.server.address() as { port: number }).port;
      }
      return { servers, port: chosen };
    } catch (err) {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      if (port !== 0 || attempt >= 5 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}
