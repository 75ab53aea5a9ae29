/**
 * The checks other stages add to the delivery analysis: DKIM (a key for the From domain,
 * published) and the bulk-sender compliance gate (SPF, DMARC, one-click unsubscribe, reverse
 * DNS of the sending IPs, complaint rate). Both look up DNS through one cached resolver on
 * the configured servers, with a short timeout. The gate reads policy/compliance.yaml and
 * policy/sending-ips.yaml itself (the MTA may run in another process), re-checked at each
 * analysis; an invalid new file keeps the previous values, with an error in the log.
 */
import type { Config } from '../config/index.ts';
import type { Db } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import { PolicyWatcher } from '../config/policy-file.ts';
import { loadCompliancePolicy } from '../config/compliance-policy.ts';
import { loadSendingIps } from '../config/sending-ips.ts';
import { DnsLookup } from '../lib/dns-lookup.ts';
import { complianceCheck, type AnalyzeOptions } from '../analysis/index.ts';
import { dkimAnalysisCheck, type DkimKeyCache } from '../dkim/index.ts';

/** Lookups wait at most this long (or less when dns.timeoutMs says so): the operator is waiting. */
const LOOKUP_TIMEOUT_MS = 2000;
const LOOKUP_CACHE_MS = 60_000;

export function analysisChecks(config: Config, db: Db, keys: DkimKeyCache, publicUrl: string, logger: Logger): NonNullable<AnalyzeOptions['extraChecks']> {
  const onError = (err: Error) => logger.error({ err: err.message }, 'policy file change refused; the previous policy stays in force');
  const policy = new PolicyWatcher('compliance.yaml', config.policy.dir, loadCompliancePolicy, onError);
  // The MTA's own watcher logs an invalid sending-ips.yaml; this one stays quiet then.
  const ips = new PolicyWatcher('sending-ips.yaml', config.policy.dir, (f) => loadSendingIps(f, { address: config.mta.localAddress, helo: config.mta.heloName }), config.roles.includes('mta') ? () => {} : onError);
  const dns = new DnsLookup({ servers: config.dns.servers, timeoutMs: Math.min(config.dns.timeoutMs, LOOKUP_TIMEOUT_MS), cacheTtlMs: LOOKUP_CACHE_MS });
  const current = () => {
    policy.refresh();
    return policy.value;
  };
  const compliance = complianceCheck({
    q: db.kysely,
    dns,
    policy: current,
    bounceDomain: config.bounces.domain,
    publicUrl: { url: publicUrl, configured: Boolean(config.publicUrl) },
    sendingIps: () => {
      ips.refresh();
      return [...ips.value.pools.values()].flat().flatMap((ip) => (ip.address ? [{ address: ip.address, helo: ip.helo }] : []));
    },
  });
  return [dkimAnalysisCheck(keys, { dns, bulkRecipients: () => current().bulkRecipients }), compliance];
}
