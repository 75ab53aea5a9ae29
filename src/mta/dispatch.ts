/**
 * Connection workers for ready queues: opens connections while a queue has waiting messages
 * and its paths (sending IP × MX IP) have room under the site's MX rule and the throttles in
 * force; each connection sends message after message, taking a rate token before each, until
 * the queue is empty, the rule's messages-per-connection is reached, or the site says stop.
 * A suspended site's messages go back to the spool until the suspension ends; a "bounce"
 * adaptation fails what is queued.
 */
import type { Logger } from '../lib/logger.ts';
import { decideOutcome, expireOutcome, type Outcome, type OutcomePolicy } from './outcome.ts';
import type { ReadyQueue, Work } from './ready-queue.ts';
import type { Shaper } from './shaping/shaper.ts';
import { openSession, type SmtpSession } from './smtp-client.ts';
import { formatSmtpReply, type SmtpReply } from '../mail/smtp-reply.ts';

/** What the dispatcher needs to send: the limits, what a reply means, and the session settings. */
export interface DispatchDeps {
  shaper: Shaper;
  policy: OutcomePolicy;
  logger: Logger;
  settings: { port: number; heloName: string; idleMs: number };
}

/** Where the dispatcher hands what it is done with (the engine implements it). */
export interface DispatchSink {
  /** An attempt's outcome, with the site and sending IP it was tried on when it was tried. */
  finished(outcome: Outcome, site?: string, source?: string | null): void;
  /** Messages that go back to the spool to wait until `at`, without counting an attempt. */
  putBack(items: { work: Work; at: number; reason: string }[]): void;
  /** The queue has no connection and nothing queued any more. */
  idle(rq: ReadyQueue): void;
}

/** Waits shorter than this keep the connection open; longer ones close it and come back later. */
const HOLD_CONNECTION_MS = 1500;

export class Dispatcher {
  constructor(
    private readonly deps: DispatchDeps,
    private readonly sink: DispatchSink,
  ) {}

  /** Opens connections while the queue wants them and its paths have room. */
  pump(rq: ReadyQueue): void {
    const now = Date.now();
    const { shaper } = this.deps;
    const st = shaper.state(rq.site.name, rq.source.address, now);
    if (st.suspendedUntil !== null) {
      const by = st.suspendedBy;
      this.sink.putBack(rq.drain().filter((w) => !w.dropped).map((work) => ({ work, at: st.suspendedUntil!, reason: `suspended by ${by?.rule ?? 'an operator'} (#${by?.id}) until ${new Date(st.suspendedUntil!).toISOString()}: ${by?.reason ?? ''}` })));
      return;
    }
    if (rq.resumeScheduled) return;
    if (rq.resumeAt > now) return this.resumeLater(rq, rq.resumeAt - now);
    const perPath = shaper.maxConnectionsPerPath(rq.site.rule, st);
    // After failures, one connection at a time probes the site.
    const limit = rq.connectFailures > 0 ? 1 : Number.POSITIVE_INFINITY;
    while (rq.wantsConnection() && rq.active < limit) {
      const target = this.freePath(rq, perPath);
      if (!target) break;
      shaper.openPath(rq.source.address, target.ip);
      rq.connectionOpened();
      void this.runConnection(rq, target.host, target.ip).finally(() => {
        shaper.closePath(rq.source.address, target.ip);
        rq.connectionClosed();
        if (rq.queued > 0) this.pump(rq);
        else this.sink.idle(rq);
      });
    }
  }

  /** The most preferred MX IP whose path from this sending IP has room. */
  private freePath(rq: ReadyQueue, perPath: number): { host: string; ip: string } | null {
    const { shaper } = this.deps;
    const hosts = rq.site.hosts;
    // Use the best preference level; backup MX hosts only while the best ones fail.
    const best = rq.connectFailures > 0 ? hosts : hosts.filter((h) => h.preference === hosts[0].preference);
    const offset = rq.connectFailures % Math.max(1, best.length);
    for (let i = 0; i < best.length; i++) {
      const h = best[(i + offset) % best.length];
      for (const ip of h.ips) if (shaper.pathOpen(rq.source.address, ip) < perPath) return { host: h.name, ip };
    }
    return null;
  }

  private resumeLater(rq: ReadyQueue, ms: number): void {
    rq.scheduleResume(Math.max(10, ms), () => this.pump(rq));
  }

  private async runConnection(rq: ReadyQueue, host: string, ip: string): Promise<void> {
    const { deps } = this;
    const rule = rq.site.rule;
    const opened = await openSession({
      host: ip,
      port: deps.settings.port,
      servername: host,
      heloName: rq.source.helo ?? deps.settings.heloName,
      localAddress: rq.source.address ?? undefined,
      tls: rule.tls,
      connectTimeoutMs: rule.connectTimeoutMs,
      commandTimeoutMs: rule.commandTimeoutMs,
      dataTimeoutMs: rule.dataTimeoutMs,
    });
    if (!opened.ok) return this.connectFailed(rq, host, opened.reply);
    rq.connectSucceeded();
    await this.sendAll(rq, opened.session, host, ip);
  }

  private connectFailed(rq: ReadyQueue, host: string, reply: SmtpReply): void {
    const failures = rq.connectFailed();
    const { deps } = this;
    void deps.shaper.observe(rq.site.name, rq.source.address, reply);
    const allHosts = rq.site.hosts.reduce((n, h) => n + h.ips.length, 0);
    if (failures < Math.min(allHosts, 6) && failures < 3) return; // try the next MX IP
    // Nobody can reach this site now: every waiting message gets the same answer rather
    // than a connection attempt each, and the queue rests before trying again.
    for (const w of rq.active <= 1 ? rq.drain() : [rq.take()].filter((x): x is Work => Boolean(x))) {
      if (!w.dropped) this.sink.finished(decideOutcome(deps.policy, w.message, reply, Date.now(), { mx: host, sourceIp: rq.source.address, command: 'CONNECT' }), rq.site.name, rq.source.address);
    }
    rq.restUntil(Date.now() + Math.min(60_000, 1000 * 2 ** Math.min(failures, 6)));
  }

  private async sendAll(rq: ReadyQueue, session: SmtpSession, host: string, ip: string): Promise<void> {
    const { deps } = this;
    const rule = rq.site.rule;
    try {
      let sent = 0;
      while (session.isUsable && sent < rule.maxMessagesPerConnection) {
        const work = rq.take() ?? (await rq.waitForWork(deps.settings.idleMs));
        if (!work) break;
        if (work.dropped) continue;
        const now = Date.now();
        if (work.message.expiresAt <= now) {
          this.sink.finished(expireOutcome(deps.policy, work.message, now));
          continue;
        }
        const st = deps.shaper.state(rq.site.name, rq.source.address, now);
        if (st.suspendedUntil !== null) {
          rq.requeue(work);
          this.pump(rq); // puts the queue back to the spool until the suspension ends
          break;
        }
        // This process's part of the site's connections went down (another MTA process has
        // work for it): a connection above it closes, so that the other can open one.
        if (deps.shaper.pathOpen(rq.source.address, ip) > deps.shaper.maxConnectionsPerPath(rule, st)) {
          rq.requeue(work);
          break;
        }
        const wait = deps.shaper.acquire(rq.site.name, rule, rq.source.address, st, now);
        if (wait > 0) {
          rq.requeue(work);
          if (wait <= HOLD_CONNECTION_MS) {
            await new Promise((r) => setTimeout(r, wait));
            continue;
          }
          rq.restUntil(now + wait);
          break;
        }
        const m = work.message;
        work.sending = true;
        const res = await session.send(m.mailFrom, m.rcptTo, m.body).finally(() => (work.sending = false));
        sent++;
        const outcome = decideOutcome(deps.policy, m, res.reply, Date.now(), { mx: host, mxIp: ip, sourceIp: rq.source.address, command: res.command });
        this.sink.finished(outcome, rq.site.name, rq.source.address);
        const reaction = await deps.shaper.observe(rq.site.name, rq.source.address, res.reply);
        if (reaction.bounce) this.bounceQueued(rq, res.reply);
      }
    } finally {
      await session.close();
      if (rq.resumeAt > Date.now()) this.resumeLater(rq, rq.resumeAt - Date.now());
    }
  }

  /** A bounce adaptation: what is queued for the site fails now with the reply that triggered it. */
  private bounceQueued(rq: ReadyQueue, reply: SmtpReply): void {
    const { deps } = this;
    for (const w of rq.drain()) {
      if (!w.dropped) this.sink.finished(decideOutcome(deps.policy, w.message, reply, Date.now(), { permanent: true, sourceIp: rq.source.address }), rq.site.name, rq.source.address);
    }
    deps.logger.warn({ site: rq.site.name, reply: formatSmtpReply(reply) }, 'bounce rule matched: queued messages for the site failed');
  }
}
