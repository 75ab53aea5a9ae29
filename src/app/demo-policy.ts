/**
 * The demo's operator policy directory (`policy.dir`): the files an operator would write
 * for these providers, with time compressed the way the simulator compresses it
 * (greylisting in seconds, not minutes), so that a delivery of 10,000 finishes in about a
 * minute.
 * Nothing here changes Estafeta's mechanism or the shipped defaults; it is layered on top
 * of them like any operator's files.
 *
 *   bounce-categories.yaml  retries in seconds for what a retry fixes (greylisting, rate
 *                           limits); the rest keeps a backoff longer than the validity
 *   adaptive-rules.yaml     the shipped rules, an hour of suspension becoming five seconds
 *   mx-rules.yaml           connection limits for the simulated providers
 *   sending-ips.yaml        two sending IPs on loopback (providers limit per sending IP)
 *   compliance.yaml         the bulk-sender requirements stay warnings (http on loopback)
 *
 * And the DNS the demo's sender would publish (demoDnsRecords), added to the simulator's.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SHIPPED_POLICY_DIR } from '../config/policy-file.ts';
import { parseDuration } from '../lib/duration.ts';
import { reverseName } from '../lib/dns-lookup.ts';
import type { SimDnsRecord } from '../sim/index.ts';

/**
 * Deferrals that a retry fixes within seconds are retried after 3 s, then up to 6 s (the
 * simulated providers greylist for 5 s). The
 * others (full mailbox, disabled account, blocks) keep a backoff longer than the demo's
 * validity period, so the MTA fails them at their first answer with their reason (Mailbox
 * full, Refused, ...): it gives up when the next retry would come after the validity ends.
 */
export const DEMO_RETRY = { initial: '3s', factor: 1.5, max: '6s' };
const QUICK_CATEGORIES = new Set(['greylisted', 'rate-limited', 'transient', 'connection', 'tls', 'undetermined']);
const GIVE_UP = { initial: '1d', factor: 1, max: '1d' };

/**
 * Sending addresses; the simulator's MX hosts use 127.0.N.M with N ≥ 1. Two, because the
 * providers' limits are per sending IP, and not more, because greylisting is too: a retry
 * from another IP is greylisted again.
 */
export const DEMO_SENDING_IPS = ['127.0.0.2', '127.0.0.3'];

/**
 * Connections per path (sending IP × MX IP) within what each simulated provider allows per
 * sending IP (see src/sim/profiles.yaml). Without them the generic rule's 10 connections
 * meet "too many connections" at smallisp.sim and yahoo.sim, and the MTA rests the path
 * for up to a minute after repeated refusals.
 */
const MX_RULES = [
  // Only the best-preference MX hosts are used: one for gmail, eumail and smallisp, two for
  // outlook, three for yahoo; the limits are per sending IP across them.
  { name: 'demo-gmail', mx: ['*.google.sim'], maxConnections: 16, maxMessagesPerConnection: 100 },
  { name: 'demo-yahoo', mx: ['*.yahoodns.sim'], maxConnections: 2, maxMessagesPerConnection: 50 },
  { name: 'demo-outlook', mx: ['*.outlook.sim'], maxConnections: 5, maxMessagesPerConnection: 100 },
  { name: 'demo-eumail', mx: ['*.eumail.sim'], maxConnections: 5, maxMessagesPerConnection: 100 },
  { name: 'demo-smallisp', mx: ['mx.smallisp.sim'], maxConnections: 3, maxMessagesPerConnection: 100 },
];


const shipped = (name: string) => parseYaml(readFileSync(join(SHIPPED_POLICY_DIR, name), 'utf8')) as Record<string, unknown>;

/**
 * An hour becomes five seconds ("30m" → "2.5s"). The simulated providers answer their spam
 * fates with block-list texts, which the shipped rules answer with an hour's suspension of
 * the sending IP: real, but a demo cannot wait for it.
 */
function compress(value: unknown): string {
  return `${Math.max(1, Math.round(parseDuration(value as string | number) / 720))}ms`;
}

export function demoBounceCategories(): unknown {
  const categories: Record<string, unknown> = {};
  for (const [name, c] of Object.entries(shipped('bounce-categories.yaml').categories as Record<string, { retry?: unknown }>)) {
    if (QUICK_CATEGORIES.has(name)) categories[name] = { retry: DEMO_RETRY };
    else if (c.retry) categories[name] = { retry: GIVE_UP };
  }
  return { categories };
}

/** The shipped adaptive rules, renamed and 720 times shorter; read first, so they win. */
export function demoAdaptiveRules(): unknown {
  const doc = shipped('adaptive-rules.yaml') as { rules?: Record<string, unknown>[]; circuitBreaker?: Record<string, unknown> };
  const rules = (doc.rules ?? []).map((r) => ({
    ...r,
    name: `demo-${String(r.name)}`,
    duration: compress(r.duration),
    ...(r.recovery !== undefined ? { recovery: compress(r.recovery) } : {}),
  }));
  const breaker = doc.circuitBreaker ? { ...doc.circuitBreaker, duration: compress(doc.circuitBreaker.duration) } : undefined;
  return { rules, ...(breaker ? { circuitBreaker: breaker } : {}) };
}

export function demoSendingIps(): unknown {
  return { pools: { default: { ips: DEMO_SENDING_IPS.map((address, i) => ({ address, helo: `mta${i + 1}.demo.estafeta.localhost` })) } } };
}

/** The demo sender's domain, and its return path's (a subdomain, so SPF aligns with From). */
export const DEMO_FROM_DOMAIN = 'shop.example';
export const DEMO_BOUNCE_DOMAIN = `bounces.${DEMO_FROM_DOMAIN}`;

/**
 * What shop.example would publish, so the analysis's compliance lines pass in the demo: SPF
 * for the two sending IPs on the From and return-path domains, DMARC (p=none, monitoring),
 * and forward-confirmed reverse DNS of each IP, named as its HELO.
 */
export function demoDnsRecords(): SimDnsRecord[] {
  const spf = `v=spf1 ${DEMO_SENDING_IPS.map((ip) => `ip4:${ip}`).join(' ')} -all`;
  return [
    { name: DEMO_FROM_DOMAIN, type: 'TXT', data: spf },
    { name: DEMO_BOUNCE_DOMAIN, type: 'TXT', data: spf },
    { name: `_dmarc.${DEMO_FROM_DOMAIN}`, type: 'TXT', data: `v=DMARC1; p=none; rua=mailto:dmarc-reports@${DEMO_FROM_DOMAIN}` },
    ...DEMO_SENDING_IPS.flatMap((ip, i): SimDnsRecord[] => [
      { name: reverseName(ip), type: 'PTR', domain: `mta${i + 1}.demo.estafeta.localhost` },
      { name: `mta${i + 1}.demo.estafeta.localhost`, type: 'A', address: ip },
    ]),
  ];
}

/** Writes the policy files into a new temporary directory and returns its path. */
export function writeDemoPolicyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-demo-policy-'));
  const files: Record<string, unknown> = {
    'bounce-categories.yaml': demoBounceCategories(),
    'adaptive-rules.yaml': demoAdaptiveRules(),
    'mx-rules.yaml': { rules: MX_RULES },
    'sending-ips.yaml': demoSendingIps(),
    // The demo answers on http://localhost and has no DKIM key: at 10,000 recipients those
    // would be errors that refuse confirmation. A real deployment keeps the shipped 5,000.
    'compliance.yaml': { bulkRecipients: 1_000_000 },
  };
  // JSON is valid YAML; the files are for Estafeta, not for reading.
  for (const [name, doc] of Object.entries(files)) writeFileSync(join(dir, name), JSON.stringify(doc, null, 2));
  return dir;
}
