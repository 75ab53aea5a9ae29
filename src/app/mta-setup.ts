/**
 * Builds the MTA engine from the configuration and the policy files (MX rules, adaptive
 * rules, sending IPs), which are watched and reloaded without a restart: a changed file is
 * validated first, and an invalid one leaves the previous policy in force with an error in
 * the log.
 */
import type { Config } from '../config/index.ts';
import type { Db } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import { parseDuration } from '../lib/duration.ts';
import { PolicyWatcher } from '../config/policy-file.ts';
import { loadMxRules } from '../config/mx-rules.ts';
import { loadAdaptiveRules } from '../config/adaptive-rules.ts';
import { loadSendingIps } from '../config/sending-ips.ts';
import { Adaptations, Engine, MxResolver, Shaper, SourceSelector, type MtaSignals, type Outcome, type OutcomePolicy, type SpoolBodyCache } from '../mta/index.ts';
import type { Emitter } from '../lib/signals.ts';

export interface MtaParts {
  engine: Engine;
  shaper: Shaper;
  watchers: PolicyWatcher<unknown>[];
  policies: { mxRules: PolicyWatcher<ReturnType<typeof loadMxRules>>; adaptive: PolicyWatcher<ReturnType<typeof loadAdaptiveRules>>; ips: PolicyWatcher<ReturnType<typeof loadSendingIps>> };
}

export function buildMta(config: Config, db: Db, logger: Logger, policy: OutcomePolicy, hooks: { signals?: Emitter<MtaSignals>; onAttempt?(site: string, source: string | null, o: Outcome): void; bodies?: SpoolBodyCache }): MtaParts {
  const log = logger.child({ component: 'mta' });
  const onError = (err: Error) => log.error({ err: err.message }, 'policy file change refused; the previous policy stays in force');
  const generic = {
    maxConnections: config.mta.maxConnectionsPerSite,
    maxMessagesPerConnection: config.mta.maxMessagesPerConnection,
    connectTimeoutMs: parseDuration(config.mta.connectTimeout),
    commandTimeoutMs: parseDuration(config.mta.commandTimeout),
    dataTimeoutMs: parseDuration(config.mta.dataTimeout),
    tls: config.mta.tls,
  };
  const mxRules = new PolicyWatcher('mx-rules.yaml', config.policy.dir, (f) => loadMxRules(f, generic), onError);
  const adaptive = new PolicyWatcher('adaptive-rules.yaml', config.policy.dir, loadAdaptiveRules, onError);
  const ips = new PolicyWatcher('sending-ips.yaml', config.policy.dir, (f) => loadSendingIps(f, { address: config.mta.localAddress, helo: config.mta.heloName }), onError);
  const adaptations = new Adaptations(db.kysely);
  const shaper = new Shaper(() => mxRules.value, () => adaptive.value, adaptations);
  const selector = new SourceSelector(db.kysely, () => ips.value, adaptations);
  const changed = () => {
    shaper.policyChanged();
    log.info('policy files reloaded');
  };
  mxRules.watch(3000, changed);
  adaptive.watch(3000, changed);
  ips.watch(3000, changed);
  const engine = new Engine({
    db,
    logger: log,
    resolver: new MxResolver({ servers: config.dns.servers, timeoutMs: config.dns.timeoutMs, tries: config.dns.tries, cacheTtlMs: parseDuration(config.dns.cacheTtl) }),
    policy,
    shaper,
    selector,
    settings: {
      port: config.mta.port,
      heloName: config.mta.heloName,
      leaseMs: parseDuration(config.mta.lease),
      maxInFlight: config.mta.maxInFlight,
      claimBatch: 500,
      idleMs: 1000,
      pollMs: 250,
      drainTimeoutMs: parseDuration(config.mta.drainTimeout),
    },
    signals: hooks.signals,
    onAttempt: hooks.onAttempt,
    bodies: hooks.bodies,
  });
  return { engine, shaper, watchers: [mxRules, adaptive, ips] as PolicyWatcher<unknown>[], policies: { mxRules, adaptive, ips } };
}
