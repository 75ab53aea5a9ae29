/**
 * The composition root: builds every part Estafeta runs from the configuration, connects
 * the stages by the pipeline's named signals (signals.ts: the pipeline in six lines below),
 * and starts the roles this process was asked to run. `estafeta start` and the end-to-end tests both go through here.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.ts';
import { openDatabase, getSetting, setSetting, type Db } from '../db/index.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { parseDuration } from '../lib/duration.ts';
import { randomToken } from '../lib/ids.ts';
import { loadBouncePolicy, classifyReply, retryDelayMs, type BouncePolicy } from '../qualification/index.ts';
import { enqueue, setDeliveryHold, SpoolBodyCache, type Engine, type OutcomePolicy } from '../mta/index.ts';
import { buildMta, type MtaParts } from './mta-setup.ts';
import { createMetrics } from './metrics.ts';
import { Sender, type ComposeSettings } from '../sender/index.ts';
import { recoverInterruptedAnalyses } from '../deliveries/index.ts';
import { DkimSigner, sealStoredKeys } from '../dkim/index.ts';
import { FeedbackService } from '../feedback/index.ts';
import { purgeOldData, retentionCutoffs } from '../retention/index.ts';
import { WebhookDispatcher, WebhookThread, registerWebhookMetrics, type WebhookRunner } from '../webhooks/index.ts';
import { EventStreamPublisher } from '../eventstream/index.ts';
import { StreamSender } from '../streams/index.ts';
import { loadSubmissionTls, startSubmission, type SubmissionListener } from '../submission/index.ts';
import { OutageGuard, releaseExpiredErrors } from '../quarantine/index.ts';
import { PolicyWatcher } from '../config/policy-file.ts';
import { loadQuarantinePolicy } from '../config/quarantine-policy.ts';
import { loadMachineEngagement } from '../config/machine-engagement.ts';
import { agentMatcher, TrackingRecorder } from '../tracking/index.ts';
import { startTrackingThread, type TrackingThread } from './tracking-thread.ts';
import { bouncePolicyWatcher } from '../config/bounce-rules.ts';
import { InboundProcessor, startListener, type Listener } from '../inbound/index.ts';
import { loadOperatorQualifications, withOperatorQualification, type OperatorQualifications } from '../qualification/index.ts';
import { formatSmtpReply } from '../mail/smtp-reply.ts';
import { buildServer } from '../api/server.ts';
import { createAnalysisRunner } from './analysis-runner.ts';
import { analysisChecks } from './analysis-checks.ts';
import { backoffDelay } from '../lib/backoff.ts';
import { pipelineSignals, type PipelineSignals } from './signals.ts';
import { ensureAdmin } from '../auth/index.ts';
import { EstafetaError } from '../lib/errors.ts';
import type { Signals } from '../lib/signals.ts';
import { VERSION } from './version.ts';

export { VERSION };

export interface App {
  config: Config;
  db: Db;
  logger: Logger;
  secret: string;
  /** Base URL of the HTTP API when the api role runs. */
  url: string | null;
  http: FastifyInstance | null;
  engine: Engine | null;
  sender: Sender | null;
  inbound: Listener | null;
  /** The SMTP submission listener when the submission role runs. */
  submission: SubmissionListener | null;
  inboundProcessor: InboundProcessor | null;
  feedback: FeedbackService | null;
  /** The NATS JetStream publisher when eventStream.nats is configured (feedback role). */
  eventStream: EventStreamPublisher | null;
  bouncePolicy: BouncePolicy;
  /** The pipeline's signals in this process (for listeners such as tests and publishers). */
  signals: Signals<PipelineSignals>;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
}

export async function startEstafeta(config: Config, options: StartOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger({ level: config.log.level, format: config.log.format });
  const signals = pipelineSignals(logger);
  const db = await openDatabase(config.database.url, { onWait: (message) => logger.warn(message) });
  const secret = config.secret ?? (await instanceSecret(db));
  const has = (role: Config['roles'][number]) => config.roles.includes(role);
  if (db.dialect === 'sqlite') await recoverInterruptedAnalyses(db.kysely);
  const sealed = await sealStoredKeys(db, secret);
  if (sealed) logger.info({ keys: sealed }, 'DKIM private keys stored in clear are now sealed with the instance secret');

  let engine: Engine | null = null;
  let started = false;
  let stopping = false;
  let mta: MtaParts | null = null;
  const metrics = createMetrics(db, () => engine, () => tracking);
  let sender: Sender | null = null;
  let feedback: FeedbackService | null = null;
  let webhooks: WebhookRunner | null = null;
  registerWebhookMetrics(metrics.registry, db, () => webhooks);
  let eventStream: EventStreamPublisher | null = null;
  let inbound: Listener | null = null;
  let inboundProcessor: InboundProcessor | null = null;
  let submission: SubmissionListener | null = null;

  // Operators' qualifications of failure texts, applied after the rules; reloaded on change.
  let operatorQualifications: OperatorQualifications = await loadOperatorQualifications(db.kysely);
  const reloadQualifications = async () => {
    operatorQualifications = await loadOperatorQualifications(db.kysely);
  };
  const timers: NodeJS.Timeout[] = [];
  // Policy files reload without restart; an invalid new version keeps the previous one in force.
  const onPolicyError = (err: Error) => logger.error({ err: err.message }, 'policy file change refused; the previous policy stays in force');
  const quarantinePolicy = new PolicyWatcher('quarantine.yaml', config.policy.dir, loadQuarantinePolicy, onPolicyError);
  const bounceRules = bouncePolicyWatcher(config.policy.dir, loadBouncePolicy, onPolicyError);
  const engagement = new PolicyWatcher('machine-engagement.yaml', config.policy.dir, loadMachineEngagement, onPolicyError);
  const policyWatchers = [quarantinePolicy, bounceRules, engagement];
  for (const w of policyWatchers) w.watch(3000);
  timers.push(setInterval(() => void reloadQualifications().catch((err) => logger.warn({ err }, 'reloading qualifications failed')), 30_000));

  if (has('feedback')) {
    feedback = new FeedbackService({
      db,
      logger: logger.child({ component: 'feedback' }),
      quarantinePolicy: () => quarantinePolicy.value.quarantine,
      guard: new OutageGuard(() => quarantinePolicy.value.outageGuard),
      engagementTiming: () => engagement.value.timing,
      signals,
    });
    // Webhooks post the events the feedback service has applied: on PostgreSQL on a thread
    // of their own; on SQLite in this one (a second writing connection in another thread
    // stalled in SQLite's busy waits while a delivery ran: docs/WEBHOOKS.md).
    const hooks = {
      secret,
      timeoutMs: parseDuration(config.webhooks.timeout),
      retry: { initialMs: parseDuration(config.webhooks.retryInitial), maxMs: parseDuration(config.webhooks.retryMax), retryForMs: parseDuration(config.webhooks.retryFor) },
      batchSize: config.webhooks.batchSize,
      concurrency: config.webhooks.concurrency,
    };
    webhooks = db.dialect === 'sqlite'
      ? new WebhookDispatcher({ db, logger: logger.child({ component: 'webhooks' }), ...hooks })
      : new WebhookThread({ databaseUrl: config.database.url, logLevel: config.log.level, logFormat: config.log.format, ...hooks }, logger.child({ component: 'webhooks' }));
    // The same events to NATS JetStream when configured, in a loop of its own as well.
    const nats = config.eventStream.nats;
    if (nats) {
      eventStream = new EventStreamPublisher({
        db, logger: logger.child({ component: 'eventstream' }), secret, servers: nats.servers, stream: nats.stream, subjectPrefix: nats.subjectPrefix,
        duplicateWindowMs: parseDuration(nats.duplicateWindow), timeoutMs: parseDuration(nats.timeout), retryInitialMs: parseDuration(nats.retryInitial), retryMaxMs: parseDuration(nats.retryMax), batchSize: nats.batchSize,
      });
    }
    // Campaign's nightly cleanup releases, run hourly here: stale errors and full mailboxes.
    timers.push(setInterval(() => void releaseExpiredErrors(db.kysely, quarantinePolicy.value.quarantine).catch((err) => logger.warn({ err }, 'quarantine cleanup failed')), 3_600_000));
    // Retention: the logs and events of old deliveries go hourly, in small batches (retention/).
    if (config.retention.logs !== 'off' || config.retention.events !== 'off') {
      const purge = () => void purgeOldData(db, retentionCutoffs(config.retention)).then((r) => r.logs + r.events > 0 && logger.info(r, 'retention: old logs and events purged'), (err) => logger.warn({ err }, 'retention purge failed'));
      timers.push(setTimeout(purge, 60_000), setInterval(purge, 3_600_000));
    }
  }
  // Bodies spooled here go to this process's MTA without a read back (mta/body-cache.ts); on
  // PostgreSQL only, where the read is a round trip of twice the body in hex.
  const spoolBodies = has('mta') && db.dialect === 'postgres' ? new SpoolBodyCache() : undefined;
  if (has('mta')) {
    const fallback = { initialMs: parseDuration(config.mta.retry.initial), factor: config.mta.retry.factor, maxMs: parseDuration(config.mta.retry.max) };
    const policy: OutcomePolicy = {
      qualify: (reply, command) => withOperatorQualification(classifyReply(reply, bounceRules.value, { command }), formatSmtpReply(reply), operatorQualifications),
      retryDelayMs: (q, attempt) => retryDelayMs(bounceRules.value, q.category, attempt) ?? backoffDelay(fallback, attempt),
    };
    mta = buildMta(config, db, logger, policy, { signals, onAttempt: (site, source, o) => metrics.onAttempt(site, source, o), bodies: spoolBodies });
    engine = mta.engine;
  }
  const publicUrl = config.publicUrl ?? `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${config.http.port}`;
  // Links in messages use the public URL; without one configured, the port is known only once
  // the API listens (port 0 picks one), so it is filled in then, before the sender starts.
  const compose: ComposeSettings = { secret, publicUrl, trackingUrl: config.tracking.publicUrl, bounceDomain: config.bounces.domain };
  // DKIM: signs in the sender before spooling; its workers start only when a key signs.
  const dkim = new DkimSigner({ db, logger: logger.child({ component: 'dkim' }), secret });
  if (has('sender')) {
    sender = new Sender({
      db,
      logger: logger.child({ component: 'sender' }),
      signer: dkim,
      spool: {
        enqueue: (q, messages) => enqueue(q, messages, Date.now(), spoolBodies),
        setDeliveryHold: (q, id, held) => setDeliveryHold(q, id, held),
      },
      signals,
      compose,
      batchSize: config.sender.batchSize,
      window: config.sender.window,
    });
  }

  // What a start that fails half-way has opened, closed again.
  let http: FastifyInstance | null = null;
  let trackingThread: TrackingThread | null = null;
  let url: string | null = null;
  const cleanUp = async () => {
    for (const t of timers) clearInterval(t);
    for (const w of mta?.watchers ?? []) w.stop();
    await http?.close();
    await inbound?.stop();
    await submission?.stop();
    await dkim.close();
    await db.close();
  };

  if (has('inbound')) {
    inboundProcessor = new InboundProcessor({
      db,
      logger: logger.child({ component: 'inbound' }),
      secret,
      bounceDomain: config.bounces.domain,
      policy: () => bounceRules.value,
      operatorQualifications: () => operatorQualifications,
      signals,
    });
    inbound = await listening('the bounce listener', 'bounces.listen.port, ESTAFETA_BOUNCE_PORT', config.bounces.listen, () => startListener({
      db,
      logger: logger.child({ component: 'inbound' }),
      secret,
      bounceDomain: config.bounces.domain,
      host: config.bounces.listen.host,
      port: config.bounces.listen.port,
      maxSizeBytes: config.bounces.maxSizeBytes,
      maxRecipients: config.bounces.maxRecipients,
      maxConnectionsPerIp: config.bounces.maxConnectionsPerIp,
      maxConnections: config.bounces.maxConnections,
      idleTimeoutMs: parseDuration(config.bounces.idleTimeout),
      sessionTimeoutMs: parseDuration(config.bounces.sessionTimeout),
      heloName: config.mta.heloName,
      signals,
    }), cleanUp);
  }

  // The send API and SMTP submission write the spool themselves, in the transaction of their logs (as the sender does).
  const streams = has('api') || has('submission') ? new StreamSender({ db, logger: logger.child({ component: 'streams' }), signer: dkim, enqueue: (q, messages) => enqueue(q, messages, Date.now(), spoolBodies), signals, compose }) : null;
  if (has('submission') && streams) {
    const at = config.submission;
    // The certificate is read (or made) inside, so a bad one also closes what this start opened.
    submission = await listening('SMTP submission', 'submission.listen.port or ESTAFETA_SUBMISSION_PORT', at.listen, async () => startSubmission({
      db,
      logger: logger.child({ component: 'submission' }),
      streams,
      tls: loadSubmissionTls({ cert: at.tls.cert, key: at.tls.key, dir: at.tls.dir, hostname: config.mta.heloName }),
      host: at.listen.host,
      port: at.listen.port,
      heloName: config.mta.heloName,
      allowPlainOnLoopback: at.allowPlainOnLoopback,
      maxSizeBytes: at.maxSize,
      maxRecipients: at.maxRecipients,
      maxConnectionsPerIp: at.maxConnectionsPerIp,
      maxConnections: at.maxConnections,
      idleTimeoutMs: parseDuration(at.idleTimeout),
      sessionTimeoutMs: parseDuration(at.sessionTimeout),
    }), cleanUp);
  }

  // Opens, clicks and unsubscriptions arrive at the API's public routes.
  // The matcher is rebuilt only when the policy file was reloaded.
  let matcher = { policy: engagement.value, agents: agentMatcher(engagement.value.agents) };
  const agents = () => (matcher.policy === engagement.value ? matcher : (matcher = { policy: engagement.value, agents: agentMatcher(engagement.value.agents) })).agents;
  const tracking = has('api')
    ? new TrackingRecorder({
        db,
        logger: logger.child({ component: 'tracking' }),
        agents,
        burstMs: () => engagement.value.timing.burstMs,
        signals,
      })
    : null;

  if (has('api')) {
    http = await buildServer({
      db,
      config,
      logger,
      secret,
      version: VERSION,
      defaults: { defaultValidityMs: parseDuration(config.deliveries.defaultValidity), maxValidityMs: parseDuration(config.deliveries.maxValidity) },
      analysis: createAnalysisRunner(db, {
        limits: { warnSizeBytes: config.deliveries.warnSizeBytes, maxSizeBytes: config.deliveries.maxSizeBytes, estimatedRatePerSecond: 200 },
        logger,
        extraChecks: analysisChecks(config, db, dkim.keys, publicUrl, logger),
      }),
      signals,
      // Readiness: not before every role has started, nor once a stop or a drain began.
      lifecycle: {
        notReady: () => (stopping ? 'stopping: this process is draining before it exits' : engine?.draining ? 'draining: the MTA of this process was drained' : !started ? 'starting: the roles have not all started' : null),
        draining: () => stopping || Boolean(engine?.draining),
      },
      mta: mta ? { engine: mta.engine, mxRules: () => mta!.policies.mxRules.value, sendingIps: () => mta!.policies.ips.value } : null,
      metrics: metrics.registry,
      tracking,
      streams,
    });
    const server = http;
    url = await listening('the HTTP API', 'http.port, ESTAFETA_HTTP_PORT or --port', config.http, () => server.listen({ host: config.http.host, port: config.http.port }), cleanUp);
    if (!config.publicUrl && config.http.port === 0) compose.publicUrl = url.replace('://0.0.0.0:', '://127.0.0.1:');
    // The recipients' routes on a thread of their own, when asked (tracking.listen).
    if (config.tracking.listen) {
      if (/^sqlite:(:memory:)?$/.test(config.database.url)) throw new EstafetaError('CONFIG', 'tracking.listen needs a database another thread can open: give database.url (DATABASE_URL) a SQLite file or PostgreSQL.');
      const at = config.tracking.listen;
      trackingThread = await listening('the tracking routes', 'tracking.listen.port or ESTAFETA_TRACKING_PORT', at, () => startTrackingThread(config, secret, () => feedback?.wake()), cleanUp);
      compose.trackingUrl ??= trackingThread.url.replace('://0.0.0.0:', '://127.0.0.1:');
      logger.info({ url: trackingThread.url }, 'tracking routes served on their own thread');
    }
    // Only once the ports are ours: a start that fails creates no user and prints no password.
    await ensureAdmin(db.kysely, logger, process.env.ESTAFETA_ADMIN_PASSWORD);
  }

  // The pipeline: each stage wakes the next when it has written something for it.
  signals.on('delivery:changed', () => sender?.wake());
  signals.on('spool:changed', () => engine?.wake());
  signals.on('inbound:stored', () => inboundProcessor?.wake());
  signals.on('outcomes:written', () => feedback?.wake());
  signals.on('logs:updated', () => {
    sender?.wake();
    webhooks?.wake();
    eventStream?.wake();
  });
  signals.on('qualifications:changed', () => void reloadQualifications());

  await engine?.start();
  sender?.start();
  feedback?.start();
  webhooks?.start();
  eventStream?.start();
  inboundProcessor?.start();
  tracking?.start();
  started = true;
  logger.info({ roles: config.roles, database: db.dialect, url }, 'Estafeta started');

  return {
    config,
    db,
    logger,
    secret,
    url,
    http,
    engine,
    sender,
    feedback,
    eventStream,
    inbound,
    submission,
    inboundProcessor,
    get bouncePolicy() {
      return bounceRules.value;
    },
    signals,
    async stop() {
      for (const t of timers) clearInterval(t);
      for (const w of [...(mta?.watchers ?? []), ...policyWatchers]) w.stop();
      // Drained first, while the API still answers /health/ready with 503 (mta.drainTimeout).
      stopping = true;
      await engine?.drain();
      await http?.close();
      await trackingThread?.stop();
      await tracking?.stop();
      await inbound?.stop();
      await submission?.stop();
      await inboundProcessor?.stop();
      await sender?.stop();
      await engine?.stop();
      await feedback?.stop();
      await webhooks?.stop();
      await eventStream?.stop();
      await dkim.close();
      await db.close();
    },
  };
}

/** The signing secret: configured, or generated once and kept in the database. */
async function instanceSecret(db: Db): Promise<string> {
  const existing = await getSetting(db.kysely, 'secret');
  if (existing) return existing;
  const secret = randomToken(32);
  await setSetting(db.kysely, 'secret', secret);
  return (await getSetting(db.kysely, 'secret')) ?? secret;
}

/**
 * Starts a listener; a port already taken becomes an error that says which port, which
 * setting changes it, and that another Estafeta may be running, after `cleanUp` has closed
 * what this start had opened.
 */
async function listening<T>(what: string, setting: string, at: { host: string; port: number }, start: () => Promise<T>, cleanUp: () => Promise<void>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    await cleanUp().catch(() => {});
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE') throw new EstafetaError('CONFIG', `Port ${at.port} on ${at.host}, for ${what}, is already in use: another Estafeta may be running (stop it), or choose another port with ${setting}.`);
    if (code === 'EACCES') throw new EstafetaError('CONFIG', `Port ${at.port} on ${at.host}, for ${what}, may not be opened by this user (ports below 1024 need privileges): choose another with ${setting}.`);
    if (code === 'EADDRNOTAVAIL') throw new EstafetaError('CONFIG', `${at.host} is not an address of this machine, so ${what} cannot listen on it: change the host setting beside ${setting}.`);
    throw err;
  }
}
