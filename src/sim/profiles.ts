/**
 * Provider profiles of the ISP simulator: the schema of `src/sim/profiles.yaml`, its
 * loading and validation, and the assignment of loopback IPs to simulated MX hosts.
 *
 * Data only: what each simulated provider serves and how it answers. How the answers are
 * produced lives in `mx-server.ts`; which recipient gets which fate in `fate.ts`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** The shipped profiles, used when neither a file nor inline profiles are given. */
export const DEFAULT_PROFILES_FILE = fileURLToPath(new URL('./profiles.yaml', import.meta.url));

const hostname = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*$/, 'must be a lower-case DNS name such as "mx1.example.sim"');
const percent = z.number().min(0).max(100);
const millis = z.number().int().min(0);
/**
 * A reply as the provider writes it: "550 5.1.1 text", or a list of lines for a multi-line
 * reply (as Gmail sends them), each starting with the same code. Placeholders: {ip} {rcpt}
 * {domain} {mx} {id}. Always a list once parsed.
 */
const reply = (cls: '4' | '5' | '45') => {
  const example = cls === '4' ? '451 4.7.1 Try again later' : '550 5.1.1 User unknown';
  const line = z.string().regex(new RegExp(`^[${cls}]\\d\\d[ -][\\x20-\\x7e]+$`), `must be one line of printable ASCII starting with a ${cls === '45' ? '4xx or 5xx' : `${cls}xx`} code, e.g. "${example}"`);
  return z.preprocess(
    (v) => (typeof v === 'string' ? [v] : v),
    z
      .array(line)
      .min(1)
      .refine((lines) => lines.every((l) => l.slice(0, 3) === lines[0].slice(0, 3)), 'every line of a multi-line reply must start with the same code'),
  );
};

const repliesSchema = z.strictObject({
  accepted: z.string().regex(/^250 [\x20-\x7e]+$/, 'must be one line of printable ASCII starting with 250').default('250 2.0.0 Ok: queued as {id}'),
  tooManyConnections: reply('4').prefault('421 4.7.0 Too many connections from {ip}, try again later'),
  rateLimited: reply('4').prefault('421 4.7.0 Too many messages from {ip}, slow down'),
  greylisted: reply('4').prefault('451 4.7.1 <{rcpt}>: Recipient address rejected: Greylisted, try again later'),
  deferred: reply('4').prefault('451 4.3.0 Temporary local problem, please try again later'),
  unknown: reply('5').prefault('550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown'),
  full: reply('45').prefault('452 4.2.2 <{rcpt}>: Mailbox full'),
  overquota: reply('5').prefault('552 5.2.2 <{rcpt}>: Mailbox full, quota exceeded'),
  disabled: reply('5').prefault('550 5.2.1 <{rcpt}>: Account disabled'),
  spam: reply('5').prefault('554 5.7.1 Message rejected as spam'),
  relayDenied: reply('5').prefault('554 5.7.1 <{rcpt}>: Relay access denied'),
});

/** Percent of recipients (chosen by a hash of the address) that get each outcome. */
const fatesSchema = z
  .strictObject({
    unknown: percent.default(0),
    full: percent.default(0),
    overquota: percent.default(0),
    disabled: percent.default(0),
    spam: percent.default(0),
    bounceLater: percent.default(0),
    complain: percent.default(0),
    autoreply: percent.default(0),
  })
  .refine((f) => Object.values(f).reduce((a, b) => a + b, 0) <= 100, 'the percentages add up to more than 100');

/** A delay drawn from a log-normal distribution: most near the median, a long tail up to max. */
const delaySchema = (median: number, max: number) =>
  z
    .strictObject({ medianSeconds: z.number().positive().default(median), maxSeconds: z.number().positive().default(max) })
    .refine((d) => d.maxSeconds >= d.medianSeconds, 'maxSeconds must be at least medianSeconds')
    .prefault({});

/** An IPv4 range written as a.b.c.d/n, from which a machine's source address is picked. */
const cidr4 = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/([89]|[12]\d|3[0-2])$/, 'must be an IPv4 range such as "17.0.0.0/8"');

/**
 * How the provider's recipients engage with accepted mail (see engagement.ts): people open
 * and click after a delay; a privacy proxy fetches the images of some at delivery (Apple Mail
 * Privacy Protection); a link scanner follows every link of some at delivery (Safe Links).
 * Delays are real-world seconds; the simulator's time scale compresses them.
 */
const engagementSchema = z
  .strictObject({
    /** Percent of recipients who open the message (load its images) themselves. */
    openPercent: percent.default(0),
    /** Percent of those openers who click one or two links. */
    clickPercent: percent.default(0),
    /** Percent of those openers who unsubscribe with the one-click POST (RFC 8058). */
    unsubscribePercent: percent.default(0),
    openDelay: delaySchema(900, 14_400),
    /** From the open to the first click; a second click follows after another such delay. */
    clickDelay: delaySchema(20, 600),
    /** From the open to the one-click unsubscription. */
    unsubscribeDelay: delaySchema(30, 900),
    /** Percent of recipients whose images a privacy proxy fetches at delivery. */
    machineOpen: z
      .strictObject({ percent: percent.default(0), userAgent: z.string().default('Mozilla/5.0'), network: cidr4.default('17.0.0.0/8') })
      .prefault({}),
    /** Percent of messages whose links a security scanner follows, all of them, at delivery. */
    scanner: z
      .strictObject({
        percent: percent.default(0),
        userAgent: z.string().default('Mozilla/5.0 (compatible; Microsoft-URLAnalyzer/1.0; +SafeLinks)'),
        network: cidr4.default('40.107.0.0/16'),
      })
      .prefault({}),
  })
  .prefault({});

const providerSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes'),
  domains: z.array(hostname).min(1, 'a provider serves at least one domain'),
  mxHosts: z
    .array(
      z.strictObject({
        name: hostname,
        priority: z.number().int().min(0).max(65535).default(10),
        /** Loopback address to listen on; assigned as 127.0.N.M (N = provider rank) when absent. */
        ip: z.ipv4().optional(),
      }),
    )
    .min(1, 'a provider has at least one MX host'),
  /** Text after "220 <mx host> ESMTP" in the greeting. */
  banner: z.string().default(''),
  /** Whether STARTTLS is offered (smtp-server's built-in self-signed certificate). */
  tls: z.boolean().default(true),
  /** Concurrent connections one sending IP may hold across all this provider's MX hosts. */
  maxConnectionsPerIp: z.number().int().positive().default(20),
  /** Accepted recipients per sending IP: a token bucket refilled at perSecond, holding burst. */
  rateLimit: z.strictObject({ perSecond: z.number().positive(), burst: z.number().int().positive() }).nullable().default(null),
  /** Greylisting of (sending IP, MAIL FROM, RCPT TO): refused until `seconds` after the first try. */
  greylist: z.strictObject({ seconds: z.number().min(0), percent: percent.default(0) }).prefault({ seconds: 60 }),
  /** Per attempt, percent of RCPTs answered with the `deferred` reply (retries may pass). */
  deferPercent: percent.default(0),
  /** Per attempt, percent of RCPTs where the connection is dropped without an answer. */
  dropPercent: percent.default(0),
  /** Delays before answering, for every session. */
  delaysMs: z.strictObject({ connect: millis.default(0), rcpt: millis.default(0), data: millis.default(0) }).prefault({}),
  /** Extra delay before the RCPT and DATA answers for `slow-` recipients. */
  slowMs: millis.default(3000),
  fates: fatesSchema.prefault({}),
  /** Style of the asynchronous bounce mails (DSN) this provider sends. */
  dsnStyle: z.enum(['postfix', 'exim', 'exchange']).default('postfix'),
  replies: repliesSchema.prefault({}),
  engagement: engagementSchema,
});

const brokenSchema = z.strictObject({
  domain: hostname,
  /**
   * nxdomain: the domain does not exist. no-records: it exists with no MX and no A.
   * mx-without-address: its MX host has no A record. null-mx: "MX 0 ." (RFC 7505).
   * unreachable: its MX host's address has nothing listening (connection refused).
   */
  kind: z.enum(['nxdomain', 'no-records', 'mx-without-address', 'null-mx', 'unreachable']),
});

export const simProfilesSchema = z
  .strictObject({
    providers: z.array(providerSchema).min(1, 'at least one provider is needed'),
    brokenDomains: z.array(brokenSchema).default([]),
  })
  .superRefine((file, ctx) => {
    const seen = new Map<string, string>();
    const claim = (key: string, owner: string, path: (string | number)[]) => {
      const previous = seen.get(key);
      if (previous) ctx.addIssue({ code: 'custom', path, message: `${key.split(':')[1]} is already used by ${previous}` });
      else seen.set(key, owner);
    };
    file.providers.forEach((p, i) => {
      claim(`provider:${p.name}`, `provider #${i + 1}`, ['providers', i, 'name']);
      p.domains.forEach((d, j) => claim(`domain:${d}`, `provider ${p.name}`, ['providers', i, 'domains', j]));
      p.mxHosts.forEach((h, j) => {
        claim(`host:${h.name}`, `provider ${p.name}`, ['providers', i, 'mxHosts', j, 'name']);
        if (h.ip && !/^127\./.test(h.ip)) ctx.addIssue({ code: 'custom', path: ['providers', i, 'mxHosts', j, 'ip'], message: 'must be a loopback address (127.x.x.x)' });
        if (h.ip?.startsWith('127.0.0.')) ctx.addIssue({ code: 'custom', path: ['providers', i, 'mxHosts', j, 'ip'], message: '127.0.0.x is reserved for the sending IPs of the MTA' });
        if (h.ip) claim(`ip:${h.ip}`, `host ${h.name}`, ['providers', i, 'mxHosts', j, 'ip']);
      });
    });
    file.brokenDomains.forEach((b, i) => claim(`domain:${b.domain}`, 'brokenDomains', ['brokenDomains', i, 'domain']));
  });

export type SimProfiles = z.output<typeof simProfilesSchema>;
export type ProviderProfile = SimProfiles['providers'][number];
export type ProviderReplies = ProviderProfile['replies'];
export type FateShares = ProviderProfile['fates'];
export type BrokenDomain = SimProfiles['brokenDomains'][number];
export type DsnStyle = ProviderProfile['dsnStyle'];
export type EngagementProfile = ProviderProfile['engagement'];

/** A simulated MX host with its resolved loopback address. */
export interface MxHost {
  name: string;
  ip: string;
  priority: number;
  provider: ProviderProfile;
}

export class SimProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimProfileError';
  }
}

/** Validates profiles given as data; `source` names them in errors (a file path, "inline profiles"). */
export function parseSimProfiles(data: unknown, source = 'inline profiles'): SimProfiles {
  const parsed = simProfilesSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => `  - ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new SimProfileError(`invalid simulator profiles in ${source}:\n${lines.join('\n')}`);
}

/** Reads and validates a YAML (or JSON) profiles file. */
export function loadSimProfiles(file = DEFAULT_PROFILES_FILE): SimProfiles {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SimProfileError(`cannot read simulator profiles ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new SimProfileError(`simulator profiles ${file} is not valid YAML: ${(err as Error).message}`);
  }
  return parseSimProfiles(data, file);
}

/**
 * Gives every MX host a loopback IP: the one configured, else 127.0.N.M where N is the
 * provider's rank (from 1) and M the host's rank (from 1). 127.0.0.x stays free for the MTA.
 */
export function assignMxHosts(profiles: SimProfiles): MxHost[] {
  const taken = new Set(profiles.providers.flatMap((p) => p.mxHosts.flatMap((h) => (h.ip ? [h.ip] : []))));
  const hosts: MxHost[] = [];
  profiles.providers.forEach((provider, i) => {
    provider.mxHosts.forEach((h, j) => {
      let ip = h.ip;
      for (let m = j + 1; !ip; m++) {
        const candidate = `127.0.${i + 1}.${m}`;
        if (!taken.has(candidate)) ip = candidate;
      }
      taken.add(ip);
      hosts.push({ name: h.name, ip, priority: h.priority, provider });
    });
  });
  return hosts;
}
