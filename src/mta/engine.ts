/**
 * The MTA engine: claims due messages from the spool, resolves each destination domain to
 * its MX site, queues the messages in memory per site (the ready queue), and runs SMTP
 * sessions within each site's limits, reusing a connection for many messages. Every attempt
 * ends as an Outcome handed to the OutcomeWriter. Memory is bounded by `maxInFlight`:
 * the rest of the queue stays in the database.
 *
 * Not here: what a reply means (OutcomePolicy), the session protocol (smtp-client), how
 * limits are chosen per site (SiteLimits, from MX rules).
 */
import type { Db } from '../db/index.ts';
import { randomToken } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { startLoop, type Loop } from '../lib/wakeup.ts';
import type { SmtpReply } from '../mail/smtp-reply.ts';
import type { MxResolver } from './mx-resolver.ts';
import { decideOutcome, type Outcome, type OutcomePolicy } from './outcome.ts';
import { OutcomeWriter } from './outcome-writer.ts';
import { Site, type SiteLimits, type Work } from './site.ts';
import { claim, heldLeases, purgeStopped, release, releaseAllLeases, renewLeases, HELD_STOPPED, type SpoolMessage } from './spool.ts';
import { openSession, type SmtpSession } from './smtp-client.ts';
import { writeEvents } from '../events/index.ts';

export interface EngineSettings {
  port: number;
  heloName: string;
  localAddress?: string;
  leaseMs: number;
  maxInFlight: number;
  claimBatch: number;
  /** How long an idle connection waits for more messages before QUIT. */
  idleMs: number;
  /** How often the engine looks for due messages when nothing wakes it. */
  pollMs: number;
}

export interface EngineDeps {
  db: Db;
  logger: Logger;
  resolver: MxResolver;
  policy: OutcomePolicy;
  settings: EngineSettings;
  limitsFor(site: string, hosts: { name: string }[]): SiteLimits;
  /** Called after outcomes are committed (wakes the feedback service). */
  onOutcomes?(outcomes: Outcome[]): void;
}

export interface EngineStats {
  inFlight: number;
  sites: { name: string; queued: number; connections: number }[];
  delivered: number;
  deferred: number;
  bounced: number;
  expired: number;
}

export class Engine {
  readonly owner = `mta-${randomToken(6)}`;
  private readonly sites = new Map<string, Site>();
  private readonly inMemory = new Map<number, Work>();
  private readonly writer: OutcomeWriter;
  private loop: Loop | null = null;
  private housekeeping: NodeJS.Timeout | null = null;
  private lastRenew = 0;
  private readonly totals = { delivered: 0, deferred: 0, bounced: 0, expired: 0 };

  constructor(private readonly deps: EngineDeps) {
    this.writer = new OutcomeWriter(deps.db, this.owner, deps.logger, {
      maxBatch: 500,
      maxDelayMs: 25,
      onFlushed: (outcomes) => {
        for (const o of outcomes) this.inMemory.delete(o.message.id);
        this.deps.onOutcomes?.(outcomes);
        this.loop?.wake();
      },
    });
  }

  async start(): Promise<void> {
    if (this.deps.db.dialect === 'sqlite') {
      // One MTA process per SQLite file: leases of a previous run belong to a dead process.
      const n = await releaseAllLeases(this.deps.db.kysely);
      if (n) this.deps.logger.info({ messages: n }, 'took back messages leased by a previous run');
    }
    this.loop = startLoop(() => this.step(), {
      idleMs: this.deps.settings.pollMs,
      onError: (err) => this.deps.logger.error({ err }, 'MTA claim loop failed'),
    });
    this.housekeeping = setInterval(() => void this.keepHouse().catch((err) => this.deps.logger.error({ err }, 'MTA housekeeping failed')), 1000);
  }

  wake(): void {
    this.loop?.wake();
  }

  /** Stops claiming, lets open sessions finish their current message, gives the rest back. */
  async stop(): Promise<void> {
    await this.loop?.stop();
    if (this.housekeeping) clearInterval(this.housekeeping);
    const queued: number[] = [];
    for (const site of this.sites.values()) for (const w of site.drain()) queued.push(w.message.id);
    await this.waitForSessions(5000);
    await this.writer.flush();
    if (queued.length) await release(this.deps.db.kysely, this.owner, queued);
    for (const id of queued) this.inMemory.delete(id);
  }

  stats(): EngineStats {
    return {
      inFlight: this.inMemory.size,
      sites: [...this.sites.values()].map((s) => ({ name: s.name, queued: s.queued, connections: s.active })),
      ...this.totals,
    };
  }

  /** One pass of the claim loop; returns true when there may be more work right away. */
  private async step(): Promise<boolean> {
    const room = this.deps.settings.maxInFlight - this.inMemory.size;
    if (room < Math.min(this.deps.settings.claimBatch, this.deps.settings.maxInFlight) / 4) return false;
    const limit = Math.min(room, this.deps.settings.claimBatch);
    const now = Date.now();
    const messages = await claim(this.deps.db, this.owner, limit, this.deps.settings.leaseMs, now);
    if (messages.length === 0) return false;
    for (const m of messages) this.inMemory.set(m.id, { message: m, dropped: false });
    await this.route(messages, now);
    return messages.length === limit;
  }

  /** Resolves destinations and hands each message to its site's ready queue. */
  private async route(messages: SpoolMessage[], now: number): Promise<void> {
    const byDomain = new Map<string, SpoolMessage[]>();
    for (const m of messages) {
      if (m.expiresAt <= now) {
        this.finish(decideOutcome(this.deps.policy, m, { code: 0, enhanced: '4.4.7', text: 'validity period ended before delivery' }, now));
        continue;
      }
      const list = byDomain.get(m.domain);
      if (list) list.push(m);
      else byDomain.set(m.domain, [m]);
    }
    await Promise.all(
      [...byDomain].map(async ([domain, list]) => {
        const mx = await this.deps.resolver.resolve(domain);
        if (!mx.ok) {
          const reply: SmtpReply = { code: 0, enhanced: mx.enhanced, text: mx.text };
          for (const m of list) this.finish(decideOutcome(this.deps.policy, m, reply, Date.now(), { permanent: mx.permanent }));
          return;
        }
        let site = this.sites.get(mx.site);
        if (!site) {
          site = new Site(mx.site, mx.hosts, this.deps.limitsFor(mx.site, mx.hosts));
          this.sites.set(mx.site, site);
        } else {
          site.hosts = mx.hosts;
        }
        for (const m of list) site.enqueue(this.inMemory.get(m.id)!);
        this.pump(site);
      }),
    );
  }

  /** Opens connections while the site has waiting messages and room under its limits. */
  private pump(site: Site): void {
    while (site.wantsConnection()) {
      site.active++;
      void this.runConnection(site).finally(() => {
        site.active--;
        if (site.queued > 0) this.pump(site);
        else if (site.active === 0 && site.queued === 0) this.sites.delete(site.name);
      });
    }
  }

  private async runConnection(site: Site): Promise<void> {
    const opened = await this.connect(site);
    if (!opened.ok) {
      site.connectFailed();
      // Nobody can reach this site now: every waiting message gets the same answer rather
      // than a connection attempt each.
      const victims = site.active <= 1 ? site.drain() : [site.take()].filter((w): w is Work => Boolean(w));
      for (const w of victims) if (!w.dropped) this.finish(decideOutcome(this.deps.policy, w.message, opened.reply, Date.now(), { mx: opened.mx }));
      return;
    }
    site.connectSucceeded();
    const { session, mx, ip } = opened;
    try {
      let sent = 0;
      while (session.isUsable && sent < site.limits.maxMessagesPerConnection) {
        const work = site.take() ?? (await site.waitForWork(this.deps.settings.idleMs));
        if (!work) break;
        if (work.dropped) continue;
        const m = work.message;
        const res = await session.send(m.mailFrom, m.rcptTo, m.body);
        sent++;
        this.finish(decideOutcome(this.deps.policy, m, res.reply, Date.now(), { mx, mxIp: ip, sourceIp: this.deps.settings.localAddress ?? null }));
      }
    } finally {
      session.close();
    }
  }

  private async connect(site: Site): Promise<{ ok: true; session: SmtpSession; mx: string; ip: string } | { ok: false; reply: SmtpReply; mx: string | null }> {
    let last: SmtpReply = { code: 0, enhanced: '4.4.1', text: `no MX host of ${site.name} could be reached` };
    let lastMx: string | null = null;
    let tries = 0;
    for (const host of site.hosts) {
      for (const ip of host.ips) {
        if (tries++ >= site.limits.maxConnectTries) return { ok: false, reply: last, mx: lastMx };
        const r = await openSession({
          host: ip,
          port: this.deps.settings.port,
          servername: host.name,
          heloName: this.deps.settings.heloName,
          localAddress: this.deps.settings.localAddress,
          tls: site.limits.tls,
          connectTimeoutMs: site.limits.connectTimeoutMs,
          commandTimeoutMs: site.limits.commandTimeoutMs,
          dataTimeoutMs: site.limits.dataTimeoutMs,
        });
        if (r.ok) return { ok: true, session: r.session, mx: host.name, ip };
        last = r.reply;
        lastMx = host.name;
      }
    }
    return { ok: false, reply: last, mx: lastMx };
  }

  private finish(outcome: Outcome): void {
    if (outcome.kind !== 'cancelled') this.totals[outcome.kind]++;
    this.writer.add(outcome);
  }

  /** Pauses and stops that happened after a claim, stopped deliveries' leftovers, lease renewal. */
  private async keepHouse(): Promise<void> {
    const q = this.deps.db.kysely;
    const now = Date.now();
    if (now - this.lastRenew > this.deps.settings.leaseMs / 3 && this.inMemory.size) {
      await renewLeases(q, this.owner, now + this.deps.settings.leaseMs);
      this.lastRenew = now;
    }
    const held = await heldLeases(q, this.owner);
    const paused: number[] = [];
    for (const { id, held: kind } of held) {
      const work = this.inMemory.get(id);
      if (!work || work.dropped) continue;
      work.dropped = true;
      if (kind === HELD_STOPPED) this.finish({ message: work.message, kind: 'cancelled', reply: { code: 0, enhanced: null, text: 'delivery stopped by an operator' }, qualification: null, at: now, nextAttemptAt: null, countsAsAttempt: true, mx: null, mxIp: null, sourceIp: null });
      else paused.push(id);
    }
    if (paused.length) {
      await release(q, this.owner, paused, now);
      for (const id of paused) this.inMemory.delete(id);
    }
    const stopped = await purgeStopped(q, now);
    if (stopped.length) {
      await writeEvents(
        q,
        stopped.map((s) => ({ key: `mta.${s.id}.cancelled`, type: 'cancelled' as const, logId: s.logId, deliveryId: s.deliveryId, occurredAt: now, payload: { reply: 'delivery stopped by an operator' } })),
      );
      this.deps.onOutcomes?.([]);
    }
  }

  private async waitForSessions(maxMs: number): Promise<void> {
    const until = Date.now() + maxMs;
    while (Date.now() < until && [...this.sites.values()].some((s) => s.active > 0)) {
      for (const s of this.sites.values()) s.wakeAll();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
