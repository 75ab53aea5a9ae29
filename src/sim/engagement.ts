/**
 * The simulated recipients' side of tracking: for each message the simulator accepted it
 * reads the HTML and the List-Unsubscribe header and, by the provider's `engagement`
 * profile, schedules what people and machines would do with it:
 *   - a person's open (every remote image fetched with a browser User-Agent) after a delay,
 *     then clicks on one or two links, or a one-click unsubscription (RFC 8058 POST);
 *   - a privacy proxy's open (Apple Mail Privacy Protection-like) at delivery: the profile's
 *     User-Agent, with X-Forwarded-For in the proxy's network;
 *   - a link scanner (Safe Links-like) following every link within a few hundred ms of
 *     delivery.
 *
 * Who does what is decided by a hash of (seed, recipient, Message-ID), like fates in
 * fate.ts, so a run with the same seed and messages engages the same recipients. Delays are
 * real-world seconds multiplied by `timeScale` (the demo compresses minutes into seconds).
 *
 * It never follows a redirect (the real URL behind a tracked link is not fetched) and by
 * default only requests loopback hosts, so it cannot reach the real internet. Bounded: at
 * most `maxPending` actions wait in memory (more are dropped and counted), `concurrency`
 * requests run at once, each with a timeout; failures are counted, never thrown.
 * It does not know Estafeta's routes: it uses whatever URLs the message carries.
 */
import PostalMime from 'postal-mime';
import type { Logger } from 'pino';
import { hashFraction } from './fate.ts';
import type { EngagementProfile } from './profiles.ts';

export type EngagementKind = 'open' | 'click' | 'unsubscribe' | 'machineOpen' | 'scannerClick';

export interface EngagementStats {
  /** Messages read for engagement, and those whose MIME could not be parsed. */
  messages: number;
  unparsable: number;
  scheduled: number;
  pending: number;
  /** Requests answered (any status below 400), failed (4xx/5xx, timeout, refused). */
  done: number;
  failed: number;
  /** Actions not scheduled: over the in-memory cap, or a URL on a host it may not request. */
  dropped: number;
  skipped: number;
  byKind: Record<EngagementKind, number>;
}

export interface EngagementOptions {
  /** Seed of the hash that picks who opens, clicks, unsubscribes (default 'estafeta'). */
  seed?: string;
  /** Multiplies every person's delay: 1 is real time, 1/120 turns two minutes into one second. */
  timeScale?: number;
  maxPending?: number;
  concurrency?: number;
  timeoutMs?: number;
  /** Which hosts may be requested; default loopback only (127.x, localhost, ::1). */
  allowHost?: (hostname: string) => boolean;
  logger?: Logger;
}

interface Action {
  kind: EngagementKind;
  due: number;
  url: string;
  method: 'GET' | 'POST';
  userAgent: string;
  forwardedFor: string | null;
  /**
   * Actions scheduled `afterMs` after this one is sent, not before: a person's clicks after
   * the open, the next link a scanner follows. Timed from the real send so that a busy
   * moment delaying one request never reorders a person's steps or squeezes them into a
   * scanner-like burst, nor spreads a scanner's burst.
   */
  then?: FollowUp[];
}

interface FollowUp {
  action: Omit<Action, 'due'>;
  afterMs: number;
}

/** What a message offers to engage with. */
export interface EngagementTargets {
  images: string[];
  /** Links a person might click: http(s), not the unsubscribe links. */
  links: string[];
  /** Every http(s) link, as a scanner follows them. */
  allLinks: string[];
  /** The http(s) List-Unsubscribe URL, if any. */
  oneClick: string | null;
}

// Browsers of people reading in webmail or a desktop client; none matches a machine rule.
const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
];
// People's addresses: the documentation ranges (RFC 5737), which no machine rule lists.
const PEOPLE_NETWORKS = ['198.51.100.0/24', '203.0.113.0/24'];
// Estafeta counts two clicks of one message within a second as a scanner's burst; a person's
// second click never comes sooner than this, whatever the time scale.
const MIN_HUMAN_CLICK_GAP_MS = 1500;
// And a person reads a little before clicking, whatever the time scale.
const MIN_READ_MS = 300;
const SCANNER_START_MS = [50, 300];
const SCANNER_STEP_MS = 60;

export class Engagement {
  private readonly queue: Action[] = [];
  private timer: NodeJS.Timeout | null = null;
  private active = 0;
  private stopped = false;
  private readonly inFlight = new Set<AbortController>();
  private idleWaiters: (() => void)[] = [];
  private readonly stats_: EngagementStats = {
    messages: 0, unparsable: 0, scheduled: 0, pending: 0, done: 0, failed: 0, dropped: 0, skipped: 0,
    byKind: { open: 0, click: 0, unsubscribe: 0, machineOpen: 0, scannerClick: 0 },
  };
  private readonly seed: string;
  private readonly timeScale: number;
  private readonly maxPending: number;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly allowHost: (hostname: string) => boolean;
  private parsing = 0;

  constructor(private readonly options: EngagementOptions = {}) {
    this.seed = options.seed ?? 'estafeta';
    this.timeScale = options.timeScale ?? 1;
    this.maxPending = options.maxPending ?? 50_000;
    this.concurrency = options.concurrency ?? 16;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.allowHost = options.allowHost ?? isLoopbackHost;
  }

  /** Reads an accepted message and schedules its recipients' engagement. Never throws. */
  accepted(profile: EngagementProfile, recipients: string[], raw: Buffer | null, acceptedAt = Date.now()): void {
    if (this.stopped || !raw || !engages(profile)) return;
    this.stats_.messages++;
    this.parsing++;
    messageTargets(raw)
      .then(({ targets, messageId }) => {
        for (const r of recipients) this.plan(profile, r, messageId, targets, acceptedAt);
      })
      .catch((err: Error) => {
        this.stats_.unparsable++;
        this.options.logger?.debug({ err: err.message }, 'sim engagement could not read a message');
      })
      .finally(() => {
        this.parsing--;
        this.idleCheck();
      });
  }

  /** The actions for one recipient of one message, decided by the hash. */
  plan(profile: EngagementProfile, recipient: string, messageId: string, t: EngagementTargets, acceptedAt: number): void {
    const key = `${this.seed}|${recipient}|${messageId}`;
    const chance = (what: string) => hashFraction(`${what}|${key}`);
    const pick = <T>(what: string, list: T[]) => list[Math.floor(chance(what) * list.length)];

    if (chance('machineOpen') * 100 < profile.machineOpen.percent) {
      const ip = addressIn(profile.machineOpen.network, chance('machineOpen-ip'));
      for (const url of t.images) this.add({ kind: 'machineOpen', due: acceptedAt + Math.floor(chance('machineOpen-at') * 500), url, method: 'GET', userAgent: profile.machineOpen.userAgent, forwardedFor: ip });
    }
    if (t.allLinks.length && chance('scanner') * 100 < profile.scanner.percent) {
      const ip = addressIn(profile.scanner.network, chance('scanner-ip'));
      const start = acceptedAt + SCANNER_START_MS[0] + Math.floor(chance('scanner-at') * (SCANNER_START_MS[1] - SCANNER_START_MS[0]));
      const link = (i: number): Omit<Action, 'due'> => ({
        kind: 'scannerClick', url: t.allLinks[i], method: 'GET', userAgent: profile.scanner.userAgent, forwardedFor: ip,
        then: i + 1 < t.allLinks.length ? [{ action: link(i + 1), afterMs: SCANNER_STEP_MS }] : undefined,
      });
      this.add({ ...link(0), due: start });
    }
    if (chance('open') * 100 >= profile.openPercent) return;
    const person = { userAgent: pick('browser', BROWSERS), forwardedFor: addressIn(pick('net', PEOPLE_NETWORKS), chance('ip')) };
    const openAt = acceptedAt + this.delayMs(profile.openDelay, chance('open-delay'), chance('open-delay2'));
    const steps: FollowUp[] = [];
    if (t.links.length && chance('click') * 100 < profile.clickPercent) {
      const count = t.links.length > 1 && chance('two-clicks') < 0.35 ? 2 : 1;
      const first = Math.floor(chance('link') * t.links.length);
      const click = (i: number): Omit<Action, 'due'> => ({ kind: 'click', url: t.links[(first + i) % t.links.length], method: 'GET', ...person });
      const gap = (i: number) => this.delayMs(profile.clickDelay, chance(`click-delay${i}`), chance(`click-delay${i}b`));
      const second = count === 2 ? [{ action: click(1), afterMs: Math.max(gap(1), MIN_HUMAN_CLICK_GAP_MS) }] : undefined;
      steps.push({ action: { ...click(0), then: second }, afterMs: Math.max(gap(0), MIN_READ_MS) });
    }
    if (t.oneClick && chance('unsubscribe') * 100 < profile.unsubscribePercent) {
      const afterMs = Math.max(this.delayMs(profile.unsubscribeDelay, chance('unsub-delay'), chance('unsub-delay2')), MIN_READ_MS);
      steps.push({ action: { kind: 'unsubscribe', url: t.oneClick, method: 'POST', ...person }, afterMs });
    }
    // A person's images load when the message is opened, and what they do next follows the
    // first image; with no image the open is invisible but the next steps still happen.
    if (t.images.length) t.images.forEach((url, i) => this.add({ kind: 'open', due: openAt, url, method: 'GET', ...person, then: i === 0 ? steps : undefined }));
    else for (const step of steps) this.add({ ...step.action, due: openAt + step.afterMs });
  }

  stats(): EngagementStats {
    return { ...this.stats_, pending: this.queue.length + this.active, byKind: { ...this.stats_.byKind } };
  }

  /** Resolves once nothing is being parsed, queued or requested. */
  settle(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    for (const c of this.inFlight) c.abort();
    this.notifyIdle();
  }

  /** A log-normal delay (sigma 1) around the median, within [median/20, max], scaled, in ms. */
  private delayMs(d: { medianSeconds: number; maxSeconds: number }, u1: number, u2: number): number {
    const z = Math.sqrt(-2 * Math.log(Math.max(u1, 1e-12))) * Math.cos(2 * Math.PI * u2);
    const seconds = Math.min(d.maxSeconds, Math.max(d.medianSeconds / 20, d.medianSeconds * Math.exp(z)));
    return Math.round(seconds * 1000 * this.timeScale);
  }

  private add(action: Action): void {
    if (this.stopped) return;
    let host: string;
    try {
      host = new URL(action.url).hostname;
    } catch {
      this.stats_.skipped++;
      return;
    }
    if (!this.allowHost(host)) {
      this.stats_.skipped++;
      return;
    }
    if (this.queue.length >= this.maxPending) {
      this.stats_.dropped++;
      return;
    }
    this.stats_.scheduled++;
    this.stats_.byKind[action.kind]++;
    // Binary search: actions arrive in any order of due time.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.queue[mid].due <= action.due) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, action);
    this.arm();
  }

  private arm(): void {
    if (this.stopped || this.queue.length === 0 || this.active >= this.concurrency) return;
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.max(0, this.queue[0].due - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, wait);
    // Waiting engagement must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  private pump(): void {
    while (!this.stopped && this.active < this.concurrency && this.queue.length && this.queue[0].due <= Date.now()) {
      const action = this.queue.shift()!;
      for (const next of action.then ?? []) this.add({ ...next.action, due: Date.now() + next.afterMs });
      this.active++;
      this.request(action).finally(() => {
        this.active--;
        this.arm();
        this.idleCheck();
      });
    }
    this.arm();
  }

  private async request(a: Action): Promise<void> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const headers: Record<string, string> = { 'user-agent': a.userAgent };
      if (a.forwardedFor) headers['x-forwarded-for'] = a.forwardedFor;
      let body: string | undefined;
      if (a.method === 'POST') {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body = 'List-Unsubscribe=One-Click';
      }
      // redirect 'manual': a tracked link answers 302 to the real site, which is never fetched.
      const res = await fetch(a.url, { method: a.method, headers, body, redirect: 'manual', signal: controller.signal });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 400) this.stats_.done++;
      else this.fail(a, `HTTP ${res.status}`);
    } catch (err) {
      this.fail(a, (err as Error).message);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }

  private fail(a: Action, why: string): void {
    this.stats_.failed++;
    if (!this.stopped) this.options.logger?.debug({ kind: a.kind, url: a.url, err: why }, 'sim engagement request failed');
  }

  private idle(): boolean {
    return this.parsing === 0 && this.queue.length === 0 && this.active === 0;
  }

  private idleCheck(): void {
    if (this.idle()) this.notifyIdle();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

function engages(p: EngagementProfile): boolean {
  return p.openPercent > 0 || p.machineOpen.percent > 0 || p.scanner.percent > 0;
}

/** The images, links and one-click URL of a message, and its Message-ID (for the hash). */
export async function messageTargets(raw: Buffer): Promise<{ targets: EngagementTargets; messageId: string }> {
  const email = await PostalMime.parse(raw);
  const header = (name: string) => email.headers.find((h) => h.key === name)?.value ?? '';
  const listUnsubscribe = [...header('list-unsubscribe').matchAll(/<([^>]+)>/g)].map((m) => m[1].trim());
  const oneClick = listUnsubscribe.find((u) => /^https?:\/\//i.test(u)) ?? null;
  return { targets: htmlTargets(email.html ?? '', oneClick), messageId: email.messageId ?? header('message-id') };
}

/** Remote images and links of an HTML body; unsubscribe links are left to the one-click POST. */
export function htmlTargets(html: string, oneClick: string | null): EngagementTargets {
  const images: string[] = [];
  for (const m of html.matchAll(/<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)) {
    const url = decodeEntities((m[1] ?? m[2]).trim());
    if (/^https?:\/\//i.test(url)) images.push(url);
  }
  const links: string[] = [];
  const allLinks: string[] = [];
  for (const m of html.matchAll(/<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')[^>]*>([\s\S]*?)<\/a\s*>/gi)) {
    const url = decodeEntities((m[1] ?? m[2]).trim());
    if (!/^https?:\/\//i.test(url)) continue;
    allLinks.push(url);
    const text = m[3].replace(/<[^>]*>/g, '');
    if (url !== oneClick && !/unsubscribe/i.test(url) && !/unsubscribe/i.test(text)) links.push(url);
  }
  return { images, links, allLinks, oneClick };
}

function decodeEntities(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&#38;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'");
}

/** An address inside an IPv4 range, chosen by `fraction` in [0, 1). */
export function addressIn(cidr: string, fraction: number): string {
  const [base, bits] = cidr.split('/');
  const start = base.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  const network = start - (start % size);
  // Skip the network and broadcast addresses of ranges large enough to have them.
  const offset = size > 2 ? 1 + Math.floor(fraction * (size - 2)) : Math.floor(fraction * size);
  const n = network + offset;
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
