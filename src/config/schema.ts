/**
 * The typed configuration of an Estafeta process: deployment wiring (database, ports,
 * roles, DNS servers) with defaults. Policy (MX rules, bounce rules, retry, warm-up) is
 * separate data under policy/; this file only says where to find it.
 */
import { z } from 'zod';
import { parseDuration } from '../lib/duration.ts';

export const ROLES = ['api', 'sender', 'mta', 'inbound', 'feedback', 'submission'] as const;
export type Role = (typeof ROLES)[number];

const port = z.number().int().min(0).max(65535);
const duration = z.union([z.string(), z.number()]);
/** A duration checked at load ("10s", "24h", or milliseconds), so a typo is refused with the key's name. */
const checkedDuration = duration.refine((v) => {
  try {
    return parseDuration(v) >= 0;
  } catch {
    return false;
  }
}, 'must be a duration such as 10s, 5m or 24h');

/** A retention period: off, or a duration of at least a day ("90d"). */
const retentionPeriod = z.union([z.literal('off'), duration]).refine((v) => {
  if (v === 'off') return true;
  try {
    return parseDuration(v) >= 86_400_000;
  } catch {
    return false;
  }
}, 'must be off or a duration of at least a day, such as 30d or 90d');

export const configSchema = z.object({
  database: z.object({
    /** `sqlite:PATH` (e.g. `sqlite:./data/estafeta.db`) or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`; anything else is refused at start-up */
    url: z.string().min(1).default('sqlite:./data/estafeta.db'),
  }).prefault({}),
  http: z.object({
    host: z.string().default('127.0.0.1'),
    port: port.default(8025),
    /**
     * Addresses of the reverse proxies in front of the API (e.g. ["127.0.0.1", "10.0.0.0/8"]):
     * their X-Forwarded-For names the client, so sign-in throttling counts per real client
     * instead of locking everyone behind the proxy. Empty: the connection's address counts.
     */
    trustedProxies: z.array(z.string().min(1)).default([]),
  }).prefault({}),
  /** Base URL the dashboard and unsubscribe links are reached at. */
  publicUrl: z.string().url().optional(),
  /**
   * The recipients' routes (open pixel, tracked links, unsubscribe). With `listen`, a thread
   * of their own serves them on that port, so tracking traffic does not slow sending (point
   * your reverse proxy's /t/ and /unsubscribe/ there); `publicUrl` is then the base of those
   * links in messages (default: http://host:port of `listen`, or the main public URL).
   */
  tracking: z.object({
    listen: z.object({ host: z.string().default('127.0.0.1'), port }).optional(),
    publicUrl: z.string().url().optional(),
  }).prefault({}),
  /** Secret for signed tokens (VERP return paths, unsubscribe links). Generated and stored in the database when absent. */
  secret: z.string().min(16).optional(),
  roles: z.array(z.enum(ROLES)).min(1).default([...ROLES]),
  log: z.object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** auto: readable lines on a terminal, JSON lines otherwise (log collectors). */
    format: z.enum(['auto', 'json', 'pretty']).default('auto'),
  }).prefault({}),
  dns: z.object({
    /** DNS servers for MX and A lookups ("127.0.0.1:5353"); empty = the system's. */
    servers: z.array(z.string()).default([]),
    timeoutMs: z.number().int().positive().default(5000),
    tries: z.number().int().positive().default(2),
    /** How long resolved MX sets are reused. */
    cacheTtl: duration.default('5m'),
  }).prefault({}),
  deliveries: z.object({
    defaultValidity: duration.default('3.5d'),
    maxValidity: duration.default('7d'),
    /** Messages bigger than this get a warning at analysis (Campaign: 35 KB recommended). */
    warnSizeBytes: z.number().int().positive().default(35 * 1024),
    /** Messages bigger than this are an error at analysis (Campaign: 60 KB). */
    maxSizeBytes: z.number().int().positive().default(60 * 1024),
  }).prefault({}),
  sender: z.object({
    batchSize: z.number().int().positive().default(500),
    /** Messages of one delivery handed to the MTA and not yet final; the sender waits past it. */
    window: z.number().int().positive().default(20000),
  }).prefault({}),
  mta: z.object({
    /** TCP port of remote MX hosts (25 on the internet; the simulator and tests use others). */
    port: port.default(25),
    heloName: z.string().default('localhost'),
    /** Local addresses to send from when no IP pool is configured. */
    localAddress: z.string().optional(),
    /** Default maximum simultaneous connections per MX site, when no MX rule says otherwise. */
    maxConnectionsPerSite: z.number().int().positive().default(10),
    maxMessagesPerConnection: z.number().int().positive().default(100),
    connectTimeout: duration.default('30s'),
    commandTimeout: duration.default('60s'),
    dataTimeout: duration.default('120s'),
    retry: z.object({
      initial: duration.default('60s'),
      factor: z.number().min(1).default(2),
      max: duration.default('1h'),
    }).prefault({}),
    /** How long a worker owns claimed messages before another worker may take them over. */
    lease: duration.default('5m'),
    /** Messages held in memory (ready queues) at most. */
    maxInFlight: z.number().int().positive().default(4000),
    tls: z.enum(['opportunistic', 'required', 'disabled']).default('opportunistic'),
    /** How long a drain (`estafeta mta drain`, SIGTERM) lets open SMTP transactions finish (the node renews its leases meanwhile). */
    drainTimeout: checkedDuration.default('30s'),
  }).prefault({}),
  /**
   * How long the logs and events of finished deliveries are kept (off: for ever). The
   * feedback role purges older ones hourly, in small batches; deliveries and their counters
   * (the KPIs) stay. Events can be kept for less time than logs, not more.
   */
  retention: z.object({
    logs: retentionPeriod.default('off'),
    events: retentionPeriod.default('off'),
  }).prefault({})
    .refine((r) => r.logs === 'off' || r.events === 'off' || parseDuration(r.events) <= parseDuration(r.logs), { message: 'retention.events must not be longer than retention.logs (a purged log takes its events with it)', path: ['events'] }),
  bounces: z.object({
    /** Domain of the VERP return path: bounce+<token>@<domain>. */
    domain: z.string().default('bounces.estafeta.localhost'),
    listen: z.object({ host: z.string().default('127.0.0.1'), port: port.default(2526) }).prefault({}),
    /** Largest bounce mail accepted (announced as SIZE); a bigger one is refused with 552 5.3.4. */
    maxSizeBytes: z.number().int().positive().default(2 * 1024 * 1024),
    /** Recipients per message; each RCPT TO past it gets 452 4.5.3 (the client sends the rest in another message). */
    maxRecipients: z.number().int().positive().max(10_000).default(100),
    /** Simultaneous connections from one client IP address; one more is answered 421 4.7.0 and closed. */
    maxConnectionsPerIp: z.number().int().positive().default(20),
    /** Simultaneous connections in all; one more is answered 421 and closed. */
    maxConnections: z.number().int().positive().default(200),
    /** A client silent this long while it owes a command or data is answered 421 and disconnected. */
    idleTimeout: duration.default('60s'),
    /** A connection open this long is answered 421 4.4.2 and closed however busy it is, so a slow drip cannot hold it. */
    sessionTimeout: duration.default('10m'),
  }).prefault({}),
  /**
   * SMTP submission (the submission role): applications send through a stream with its SMTP
   * credentials (POST /streams/:id/smtp-credentials), AUTH PLAIN or LOGIN after STARTTLS.
   */
  submission: z.object({
    // 2587, not 587: a first start as an ordinary user may not open ports below 1024 (set 587 in production, as root or with CAP_NET_BIND_SERVICE).
    listen: z.object({ host: z.string().default('127.0.0.1'), port: port.default(2587) }).prefault({}),
    tls: z.object({
      /** PEM certificate and key files; without them a self-signed certificate is generated with openssl into `dir`. */
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      dir: z.string().default('./data'),
    }).prefault({}),
    /** AUTH without STARTTLS from 127.0.0.1 and ::1 only (an application on the same machine). */
    allowPlainOnLoopback: z.boolean().default(false),
    /** Largest message accepted (announced as SIZE); a bigger one is refused with 552 5.3.4. */
    maxSize: z.number().int().positive().max(25 * 1024 * 1024).default(2 * 1024 * 1024),
    /** Recipients per message (the send API's limit at most); each RCPT TO past it gets 452 4.5.3. */
    maxRecipients: z.number().int().positive().max(50).default(50),
    maxConnectionsPerIp: z.number().int().positive().default(50),
    maxConnections: z.number().int().positive().default(500),
    idleTimeout: checkedDuration.default('60s'),
    sessionTimeout: checkedDuration.default('30m'),
  }).prefault({}),
  /** The send API (POST /messages and /messages/batch). */
  api: z.object({
    /**
     * Messages per second each API key (or signed-in user) may send, with a burst; a batch
     * counts its messages. Past it a call is answered 429 with Retry-After. Per API process.
     * perSecond 0 turns the limit off.
     */
    sendRate: z.object({
      perSecond: z.number().min(0).default(5000),
      burst: z.number().int().positive().default(10000),
    }).prefault({}),
  }).prefault({}),
  webhooks: z.object({
    /** A receiver that has not answered within this is a failed attempt. */
    timeout: checkedDuration.default('10s'),
    /** How long an endpoint is retried without one 2xx answer before it is disabled (at least 24 h in production). */
    retryFor: checkedDuration.default('24h'),
    /** First retry after a failure, doubling up to retryMax. */
    retryInitial: checkedDuration.default('1s'),
    retryMax: checkedDuration.default('1h'),
    /** Events per POST at most (a slow receiver gets them in batches). */
    batchSize: z.number().int().positive().max(1000).default(100),
    /** POSTs in flight per endpoint when a backlog needs more than one; each message's events keep their order (1: overall order too). */
    concurrency: z.number().int().positive().max(16).default(4),
  }).prefault({}),
  /** The events webhooks get, published to NATS JetStream (src/eventstream/); off unless `nats` is given. */
  eventStream: z.object({
    nats: z.object({
      /** `host:port` or `nats://host:port`, as a list or comma-separated. */
      servers: z.union([z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)), z.array(z.string().trim())]).pipe(z.array(z.string().min(1)).min(1, 'eventStream.nats.servers: give at least one NATS server')),
      /** Created when missing, with the subjects `<subjectPrefix>.>`. */
      stream: z.string().regex(/^[A-Za-z0-9_-]+$/, 'eventStream.nats.stream: letters, digits, - and _ only').default('ESTAFETA'),
      /** Each event goes to `<subjectPrefix>.<event type>`. */
      subjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'eventStream.nats.subjectPrefix: dot-separated tokens without wildcards').default('estafeta.events'),
      /** JetStream drops a message whose Nats-Msg-Id it saw within this window (a republish after a crash). */
      duplicateWindow: checkedDuration.default('2m'),
      /** A connection attempt or a publish's acknowledgement that takes longer has failed. */
      timeout: checkedDuration.default('5s'),
      retryInitial: checkedDuration.default('1s'),
      retryMax: checkedDuration.default('1m'),
      batchSize: z.number().int().positive().max(1000).default(100),
    }).optional(),
  }).prefault({}),
  policy: z.object({
    /** Operator policy files that layer over the shipped ones in policy/. Never overwritten by upgrades. */
    dir: z.string().default('./config/policy'),
  }).prefault({}),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
