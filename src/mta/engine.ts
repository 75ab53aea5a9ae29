/**
 * The MTA engine: claims due messages from the spool, resolves each destination to its MX
 * site, picks the sending IP (pools, warm-up), and holds the message in the ready queue of
 * that (sending IP, site); connection workers (dispatch.ts) send within the site's MX rule,
 * the adaptations in force and the rate limits. Every attempt ends as an Outcome written in
 * batches. Memory is bounded: `maxInFlight` overall and `maxReady` per site; the rest waits
 * in the spool with the reason it waits.
 *
 * Not here: what a reply means (OutcomePolicy), the SMTP protocol (smtp-client), the limits
 * (policy files through the Shaper).
 */
import type { Db } from '../db/index.ts';
import { randomToken } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { startLoop, type Loop } from '../lib/wakeup.ts';
import type { SmtpReply } from '../mail/smtp-reply.ts';
import type { SendingIp } from '../config/sending-ips.ts';
import type { MxResolver } from './mx-resolver.ts';
import { cancelOutcome, decideOutcome, expireOutcome, type Outcome, type OutcomePolicy } from './outcome.ts';
import { OutcomeWriter } from './outcome-writer.ts';
import { ReadyQueue, type SiteInfo, type Work } from './ready-queue.ts';
import type { SpoolBodyCache } from './body-cache.ts';
import { claim, heldLeases, leaseStopped, release, releaseAllLeases, releaseUntil, renewLeases, Hold, type SpoolMessage } from './spool.ts';
import type { Shaper } from './shaping/shaper.ts';
import { MtaPeers, type SiteNeed } from './shaping/peers.ts';
import type { SourceSelector } from './shaping/source-selector.ts';
import { Dispatcher, type DispatchSink } from './dispatch.ts';
import { ParkHorizon } from './park-horizon.ts';
import type { Emitter } from '../lib/signals.ts';
import type { EventSignals } from '../events/index.ts';

/** The signals the MTA emits. */
export type MtaSignals = EventSignals;

export interface EngineSettings {
  port: number;
  heloName: string;
  leaseMs: number;
  maxInFlight: number;
  claimBatch: number;
  /** How long an idle connection waits for more messages before QUIT. */
  idleMs: number;
  /** How often the engine looks for due messages when nothing wakes it. */
  pollMs: number;
  /** How long a drain (or a stop) lets open SMTP transactions finish (default 30 s). */
  drainTimeoutMs?: number;
}

/** What a drain did: messages finished while draining, handed back unstarted, still in a transaction at the timeout. */
export interface DrainReport {
  finished: number;
  handedBack: number;
  /** Messages whose SMTP transaction had not ended at the timeout: their leases run out and another node takes them. */
  unfinished: number;
  ms: number;
}

export interface EngineDeps {
  db: Db;
  logger: Logger;
  resolver: MxResolver;
  policy: OutcomePolicy;
  settings: EngineSettings;
  shaper: Shaper;
  selector: SourceSelector;
  /** Told when outcome events are committed (the feedback service listens). */
  signals?: Emitter<MtaSignals>;
  /** Called on every reply, for metrics. */
  onAttempt?(site: string, source: string | null, outcome: Outcome): void;
  /** Bodies this process's sender just spooled, taken instead of read back (PostgreSQL). */
  bodies?: SpoolBodyCache;
}

export interface QueueStats {
  site: string;
  source: string | null;
  rule: string;
  queued: number;
  connections: number;
  suspendedUntil: number | null;
  factor: number;
  messagesPerMinute: number | null;
  messagesPerHour: number | null;
  maxConnectionsPerPath: number;
}

export interface EngineStats {
  inFlight: number;
  queues: QueueStats[];
  delivered: number;
  deferred: number;
  bounced: number;
  expired: number;
}

export class Engine {
  readonly owner = `mta-${randomToken(6)}`;
  readonly queues = new Map<string, ReadyQueue>();
  readonly inMemory = new Map<number, Work>();
  private readonly parking = new ParkHorizon();
  private readonly writer: OutcomeWriter;
  private readonly dispatcher: Dispatcher;
  private loop: Loop | null = null;
  private housekeeping: NodeJS.Timeout | null = null;
  private housekeepingRun: Promise<void> | null = null;
  private lastRenew = 0;
  private drainPromise: Promise<DrainReport> | null = null;
  private readonly totals = { delivered: 0, deferred: 0, bounced: 0, expired: 0 };
  private finishedCount = 0;
  /** The MTA processes on this spool: each takes a part of every site's MX rule that follows what it holds for the site. */
  readonly peers: MtaPeers;
  private sharing: Promise<void> | null = null;

  constructor(readonly deps: EngineDeps) {
    this.writer = new OutcomeWriter(deps.db, this.owner, deps.logger, {
      // Each batch is one commit and one log flush: a tenth of a second of outcomes per
      // commit keeps the feedback delay low and the disk out of the way.
      maxBatch: 1000,
      maxDelayMs: 100,
      onFlushed: (outcomes) => {
        for (const o of outcomes) this.inMemory.delete(o.message.id);
        this.deps.signals?.emit('outcomes:written', { source: 'mta', events: outcomes.length, delivered: outcomes.filter((o) => o.kind === 'delivered').length });
        this.loop?.wake();
      },
    });
    const sink: DispatchSink = {
      finished: (outcome, site, source) => this.finish(outcome, site, source),
      putBack: (items) => this.putBack(items),
      idle: (rq) => this.forget(rq),
    };
    this.dispatcher = new Dispatcher(deps, sink);
    this.peers = new MtaPeers(deps.db, this.owner, () => this.needs());
    deps.shaper.setShares((site) => this.peers.allocation(site));
  }

  async start(): Promise<void> {
    const q = this.deps.db.kysely;
    if (this.deps.db.dialect === 'sqlite') {
      // One MTA process per SQLite file: leases of a previous run belong to a dead process.
      const n = await releaseAllLeases(q);
      if (n) this.deps.logger.info({ messages: n }, 'took back messages leased by a previous run');
      await this.peers.forgetOthers();
    }
    await this.deps.shaper.adaptations.reload();
    await this.deps.selector.load();
    await this.peers.beat(Date.now());
    this.loop = startLoop(() => this.step(), { idleMs: this.deps.settings.pollMs, onError: (err) => this.deps.logger.error({ err }, 'MTA claim loop failed') });
    this.housekeeping = setInterval(() => {
      // One run at a time, and a drain waits for the one under way (it would beat again).
      this.housekeepingRun ??= this.keepHouse()
        .catch((err) => this.deps.logger.error({ err }, 'MTA housekeeping failed'))
        .finally(() => (this.housekeepingRun = null));
    }, 1000);
  }

  wake(): void {
    this.loop?.wake();
  }

  /** True once a drain (or stop) began: the engine claims nothing more. */
  get draining(): boolean {
    return this.drainPromise !== null;
  }

  /** Stops the engine: a drain with the configured timeout. */
  async stop(): Promise<void> {
    await this.drain();
  }

  /**
   * Takes this node out of service: stops claiming, hands back at once (releases the leases
   * of) every message it has not started to send, lets open SMTP transactions finish within
   * the timeout, writes their outcomes, and leaves the live MTA processes so that the others
   * take its share of every MX rule at their next heartbeat. Called twice, it returns the
   * first drain's report.
   */
  drain(timeoutMs = this.deps.settings.drainTimeoutMs ?? 30_000): Promise<DrainReport> {
    this.drainPromise ??= this.runDrain(timeoutMs);
    return this.drainPromise;
  }

  private async runDrain(timeoutMs: number): Promise<DrainReport> {
    const started = Date.now();
    const before = this.finishedCount;
    await this.loop?.stop();
    if (this.housekeeping) clearInterval(this.housekeeping);
    await this.housekeepingRun;
    let handedBack = 0;
    const until = started + timeoutMs;
    for (;;) {
      // Sessions requeue a message they must wait for: take it back again at each turn.
      handedBack += await this.handBackQueued();
      if (![...this.queues.values()].some((s) => s.active > 0) || Date.now() >= until) break;
      for (const s of this.queues.values()) s.wakeAll();
      const now = Date.now();
      // The housekeeping that renewed leases has stopped; a long transaction keeps its message.
      if (now - this.lastRenew > this.deps.settings.leaseMs / 3 && this.inMemory.size) {
        await renewLeases(this.deps.db.kysely, this.owner, [...this.inMemory.keys()], now + this.deps.settings.leaseMs).catch(() => {});
        this.lastRenew = now;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.writer.flush();
    await this.deps.selector.flush();
    // Left in memory: messages in a transaction at the timeout (their leases run out), and
    // messages routed but neither queued nor sent (given back here).
    const idle = [...this.inMemory.values()].filter((w) => !w.sending && !w.dropped).map((w) => w.message.id);
    if (idle.length) {
      await release(this.deps.db.kysely, this.owner, idle);
      for (const id of idle) this.inMemory.delete(id);
      handedBack += idle.length;
    }
    const unfinished = [...this.inMemory.values()].filter((w) => w.sending).length;
    await this.peers.leave().catch((err) => this.deps.logger.warn({ err }, 'could not remove this MTA process from the live ones'));
    const report = { finished: this.finishedCount - before, handedBack, unfinished, ms: Date.now() - started };
    this.deps.logger.info(report, unfinished ? 'MTA drained at its timeout: some transactions had not ended' : 'MTA drained');
    return report;
  }

  /** Releases every queued message (not started) so that other nodes claim it now. */
  private async handBackQueued(): Promise<number> {
    const ids: number[] = [];
    for (const rq of this.queues.values()) {
      rq.cancelResume();
      for (const w of rq.drain()) {
        if (w.dropped) continue;
        w.dropped = true;
        ids.push(w.message.id);
      }
    }
    if (!ids.length) return 0;
    await release(this.deps.db.kysely, this.owner, ids);
    for (const id of ids) this.inMemory.delete(id);
    return ids.length;
  }

  stats(): EngineStats {
    const now = Date.now();
    return {
      inFlight: this.inMemory.size,
      queues: [...this.queues.values()].map((rq) => {
        const st = this.deps.shaper.state(rq.site.name, rq.source.address, now);
        const r = rq.site.rule;
        return {
          site: rq.site.name,
          source: rq.source.address,
          rule: r.name,
          queued: rq.queued,
          connections: rq.active,
          suspendedUntil: st.suspendedUntil,
          factor: Math.round(st.factor * 100) / 100,
          messagesPerMinute: r.messagesPerMinute === null ? null : r.messagesPerMinute * this.deps.shaper.scale(st),
          messagesPerHour: r.messagesPerHour === null ? null : r.messagesPerHour * this.deps.shaper.scale(st),
          maxConnectionsPerPath: this.deps.shaper.maxConnectionsPerPath(r, st),
        };
      }),
      ...this.totals,
    };
  }

  /** Records an attempt's outcome: counted, written in the next batch, reported. */
  private finish(outcome: Outcome, site?: string, source?: string | null): void {
    this.finishedCount++;
    if (outcome.kind !== 'cancelled') this.totals[outcome.kind]++;
    this.writer.add(outcome);
    if (site !== undefined) this.deps.onAttempt?.(site, source ?? null, outcome);
  }

  /** Gives messages back to the spool to wait, with the reason, without counting an attempt. */
  private putBack(items: { work: Work; at: number; reason: string }[]): void {
    if (!items.length) return;
    for (const it of items) it.work.dropped = true;
    void releaseUntil(this.deps.db, this.owner, items.map((it) => ({ id: it.work.message.id, at: it.at, reason: it.reason })))
      .then(() => {
        for (const it of items) this.inMemory.delete(it.work.message.id);
        this.loop?.wake();
      })
      .catch((err) => {
        // Their leases run out and a worker takes them again; memory must not keep them.
        for (const it of items) this.inMemory.delete(it.work.message.id);
        this.deps.logger.error({ err }, 'could not give messages back to the spool');
      });
  }

  /** One pass of the claim loop; returns true when there may be more work right away. */
  private async step(): Promise<boolean> {
    const room = this.deps.settings.maxInFlight - this.inMemory.size;
    // Claim in large batches: every claim is a statement and a commit, however few it takes.
    if (room < Math.min(this.deps.settings.claimBatch, this.deps.settings.maxInFlight / 2) && this.inMemory.size > 0) return false;
    const limit = Math.min(room, this.deps.settings.claimBatch);
    const now = Date.now();
    const messages = await claim(this.deps.db, this.owner, limit, this.deps.settings.leaseMs, now, this.deps.bodies);
    if (messages.length === 0) return false;
    for (const m of messages) this.inMemory.set(m.id, { message: m, dropped: false });
    await this.route(messages, now);
    return messages.length === limit;
  }

  /** Resolves destinations, picks sending IPs, and hands each message to its ready queue. */
  private async route(messages: SpoolMessage[], now: number): Promise<void> {
    const byDomain = new Map<string, SpoolMessage[]>();
    for (const m of messages) {
      if (m.expiresAt <= now) {
        this.finish(expireOutcome(this.deps.policy, m, now));
        continue;
      }
      const list = byDomain.get(m.domain);
      if (list) list.push(m);
      else byDomain.set(m.domain, [m]);
    }
    const waiting: { work: Work; at: number; reason: string }[] = [];
    await Promise.all(
      [...byDomain].map(async ([domain, list]) => {
        const mx = await this.deps.resolver.resolve(domain);
        if (!mx.ok) {
          const reply: SmtpReply = { code: 0, enhanced: mx.enhanced, text: mx.text };
          for (const m of list) this.finish(decideOutcome(this.deps.policy, m, reply, Date.now(), { permanent: mx.permanent }));
          return;
        }
        const site: SiteInfo = { name: mx.site, hosts: mx.hosts, rule: this.deps.shaper.rule(mx.site, mx.hosts.map((h) => h.name)) };
        for (const m of list) {
          const work = this.inMemory.get(m.id)!;
          const sel = this.deps.selector.choose(m.pool, domain, site.name, site.rule.name, now);
          if (!sel.ok) {
            waiting.push({ work, at: sel.until, reason: sel.reason });
            continue;
          }
          const rq = this.queueFor(site, sel.ip);
          if (rq.queued >= site.rule.maxReady) {
            this.deps.selector.uncount(sel.ip.address, site.rule.name);
            // Back at the rate this process may send at: the rule's, throttled, and its share
            // (at least an even one: the share follows the work, and this is work waiting).
            const st = this.deps.shaper.state(site.name, sel.ip.address, now);
            const scale = Math.max(this.deps.shaper.scale(st), st.factor / this.peers.count);
            waiting.push({ work, at: this.parking.next(site.name, site.rule, scale, rq.queued, now), reason: `throttled: the ready queue for ${site.name} is full (${site.rule.maxReady} messages, rule ${site.rule.name})` });
            continue;
          }
          rq.push(work);
        }
      }),
    );
    this.putBack(waiting);
    for (const rq of this.queues.values()) if (rq.queued) this.dispatcher.pump(rq);
    // A site this process had no work for has no part of its rule yet: ask for one now
    // rather than at the next heartbeat.
    if ([...this.queues.values()].some((rq) => rq.queued && !this.peers.has(rq.site.name))) void this.shareNow();
  }

  /** What this process has per site, for its heartbeat: messages held ready, the connections to split and those open. */
  private needs(): Map<string, SiteNeed> {
    const out = new Map<string, SiteNeed>();
    for (const rq of this.queues.values()) {
      let n = out.get(rq.site.name);
      // The processes split the rule's connections under the site's throttle, so that together they keep to it.
      if (!n) out.set(rq.site.name, (n = { demand: 0, maxConnections: this.deps.shaper.connectionsToSplit(rq.site.name, rq.site.rule), open: 0 }));
      n.demand += rq.queued;
      for (const h of rq.site.hosts) for (const ip of h.ips) n.open = Math.max(n.open, this.deps.shaper.pathOpen(rq.source.address, ip));
    }
    return out;
  }

  /** A heartbeat now (one at a time), then the queues move with their new parts. */
  private shareNow(): Promise<void> {
    this.sharing ??= this.peers
      .beat()
      .then(() => {
        for (const rq of this.queues.values()) if (rq.queued) this.dispatcher.pump(rq);
      })
      .catch((err) => this.deps.logger.warn({ err }, 'could not write the MTA heartbeat'))
      .finally(() => (this.sharing = null));
    return this.sharing;
  }

  private queueFor(site: SiteInfo, ip: SendingIp): ReadyQueue {
    const key = `${site.name}|${ip.address ?? ''}`;
    let rq = this.queues.get(key);
    if (!rq) this.queues.set(key, (rq = new ReadyQueue(key, site, ip)));
    else rq.updateSite(site);
    return rq;
  }

  /** Drops an idle, empty queue. */
  private forget(rq: ReadyQueue): void {
    if (rq.isIdle()) this.queues.delete(rq.key);
  }

  /** Pauses and stops that happened after a claim, stopped deliveries' leftovers, leases, adaptations. */
  private async keepHouse(): Promise<void> {
    const q = this.deps.db.kysely;
    const now = Date.now();
    if (now - this.lastRenew > this.deps.settings.leaseMs / 3 && this.inMemory.size) {
      await renewLeases(q, this.owner, [...this.inMemory.keys()], now + this.deps.settings.leaseMs);
      this.lastRenew = now;
    }
    await this.deps.shaper.adaptations.reload(now);
    await this.deps.selector.flush();
    // Every second: the parts of the sites follow what each process holds.
    await this.peers.beat(now);
    const held = await heldLeases(q, this.owner);
    const paused: number[] = [];
    for (const { id, held: kind } of held) {
      const work = this.inMemory.get(id);
      if (!work || work.dropped) continue;
      work.dropped = true;
      if (kind === Hold.Stopped) this.finish(cancelOutcome(work.message, now));
      else paused.push(id);
    }
    if (paused.length) {
      await release(q, this.owner, paused, now);
      for (const id of paused) this.inMemory.delete(id);
    }
    // Stopped messages nobody is sending are leased to this process so that the writer
    // removes them and writes their events in one transaction, like any other outcome.
    for (const m of await leaseStopped(q, this.owner, this.deps.settings.leaseMs, now)) this.finish(cancelOutcome(m, now));
    // Suspensions that ended, or were cancelled, let queues move again.
    for (const rq of this.queues.values()) if (rq.queued) this.dispatcher.pump(rq);
  }
}
