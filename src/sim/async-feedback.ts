/**
 * The simulator's outgoing mail: bounces (DSN), complaints (ARF) and auto-replies written
 * some time after a message was accepted, sent with MAIL FROM:<> to the bounce address
 * the message carried, from the accepting MX host's own loopback address.
 *
 * With an inbound listener configured they are delivered over SMTP (retried a few times if
 * it is down or answers 4xx); without one they are only kept in the outbox for tests.
 * The outbox is capped; it keeps the most recent mails.
 */
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Logger } from 'pino';
import type { AcceptedCopy } from './report-parts.ts';

export type AsyncKind = 'dsn' | 'arf' | 'autoreply';

export interface AsyncMail {
  kind: AsyncKind;
  /** Envelope recipient: the original message's MAIL FROM. The envelope sender is always <>. */
  to: string;
  /** The recipient of the original message this mail is about. */
  recipient: string;
  originalMessageId: string | null;
  provider: string;
  mxHost: string;
  raw: Buffer;
  createdAt: Date;
  /** When the inbound listener accepted it; null while pending, failed, or kept in memory only. */
  sentAt: Date | null;
  error: string | null;
}

export interface AsyncStats {
  scheduled: number;
  pending: number;
  sent: number;
  failed: number;
  byKind: Record<AsyncKind, number>;
}

interface Job {
  kind: AsyncKind;
  copy: AcceptedCopy & { mxIp: string };
  build: () => Promise<Buffer>;
  /** Built once, on the first attempt, so a retry sends the same mail. */
  raw?: Buffer;
  due: number;
  attempts: number;
}

const RETRY_MS = [1000, 3000, 10_000, 30_000];
const CONCURRENCY = 4;

export class AsyncFeedback {
  private readonly queue: Job[] = [];
  private readonly kept: AsyncMail[] = [];
  private timer: NodeJS.Timeout | null = null;
  private active = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private readonly stats_: AsyncStats = { scheduled: 0, pending: 0, sent: 0, failed: 0, byKind: { dsn: 0, arf: 0, autoreply: 0 } };

  constructor(
    private readonly options: { delayMs: number; inbound: { host: string; port: number } | null; logger: Logger; maxOutbox?: number },
  ) {}

  /** Queues a mail about `copy`, built by `build` when it is due. */
  schedule(kind: AsyncKind, copy: AcceptedCopy & { mxIp: string }, build: () => Promise<Buffer>): void {
    if (this.stopped || !copy.returnPath) return;
    this.stats_.scheduled++;
    this.stats_.byKind[kind]++;
    this.insert({ kind, copy, build, due: Date.now() + this.options.delayMs, attempts: 0 });
  }

  outbox(): AsyncMail[] {
    return [...this.kept];
  }

  stats(): AsyncStats {
    return { ...this.stats_, pending: this.queue.length + this.active, byKind: { ...this.stats_.byKind } };
  }

  /** Resolves once nothing is queued or being sent (mails still waiting for their delay count). */
  settle(): Promise<void> {
    if (this.queue.length === 0 && this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Makes every queued mail due now. */
  flush(): void {
    for (const job of this.queue) job.due = 0;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue.length = 0;
    this.notifyIdle();
  }

  private insert(job: Job): void {
    // Jobs mostly arrive in due order (constant delay), so search from the end.
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1].due > job.due) i--;
    this.queue.splice(i, 0, job);
    this.arm();
  }

  private arm(): void {
    if (this.stopped || this.queue.length === 0 || this.active >= CONCURRENCY) return;
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.max(0, this.queue[0].due - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, wait);
  }

  /** Starts workers on due jobs, one batch per accepting MX host (one SMTP session each). */
  private pump(): void {
    while (!this.stopped && this.active < CONCURRENCY && this.queue.length && this.queue[0].due <= Date.now()) {
      const ip = this.queue[0].copy.mxIp;
      const batch: Job[] = [];
      for (let i = 0; i < this.queue.length && batch.length < 100; ) {
        const job = this.queue[i];
        if (job.due > Date.now()) break;
        if (job.copy.mxIp === ip) batch.push(...this.queue.splice(i, 1));
        else i++;
      }
      this.active++;
      this.runBatch(batch)
        .catch((err) => this.options.logger.warn({ err }, 'sim async mail batch failed'))
        .finally(() => {
          this.active--;
          this.arm();
          if (this.queue.length === 0 && this.active === 0) this.notifyIdle();
        });
    }
    this.arm();
  }

  private async runBatch(batch: Job[]): Promise<void> {
    const mails: { job: Job; mail: AsyncMail }[] = [];
    for (const job of batch) {
      const c = job.copy;
      const raw = (job.raw ??= await job.build());
      mails.push({ job, mail: { kind: job.kind, to: c.returnPath, recipient: c.recipient, originalMessageId: c.messageId, provider: c.provider, mxHost: c.mxHost, raw, createdAt: new Date(), sentAt: null, error: null } });
    }
    const inbound = this.options.inbound;
    if (!inbound) {
      for (const { mail } of mails) this.keep(mail);
      return;
    }
    const first = batch[0].copy;
    const conn = new SMTPConnection({ host: inbound.host, port: inbound.port, localAddress: first.mxIp, name: first.mxHost, connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 15_000, tls: { rejectUnauthorized: false } });
    conn.on('error', () => {}); // reported through the callbacks below
    try {
      await new Promise<void>((resolve, reject) => {
        conn.once('error', reject);
        conn.connect(() => resolve());
      });
      for (const { job, mail } of mails) {
        if (this.stopped) break;
        try {
          await new Promise<void>((resolve, reject) => conn.send({ from: '', to: [mail.to] }, mail.raw, (err) => (err ? reject(err) : resolve())));
          mail.sentAt = new Date();
          this.stats_.sent++;
          this.keep(mail);
        } catch (err) {
          this.retryOrFail(job, mail, err as Error & { responseCode?: number });
          // A refused transaction must be reset before the next one on this session.
          await new Promise<void>((resolve) => conn.reset(() => resolve()));
        }
      }
      conn.quit();
    } catch (err) {
      conn.close();
      for (const { job, mail } of mails) if (!mail.sentAt && !mail.error) this.retryOrFail(job, mail, err as Error);
    }
  }

  private retryOrFail(job: Job, mail: AsyncMail, err: Error & { responseCode?: number }): void {
    const permanent = (err.responseCode ?? 0) >= 500;
    if (!permanent && job.attempts < RETRY_MS.length && !this.stopped) {
      job.due = Date.now() + RETRY_MS[job.attempts++];
      this.insert(job);
      return;
    }
    mail.error = err.message;
    this.stats_.failed++;
    this.options.logger.warn({ to: mail.to, kind: mail.kind, err: err.message }, 'sim could not deliver an async mail');
    this.keep(mail);
  }

  private keep(mail: AsyncMail): void {
    this.kept.push(mail);
    const cap = this.options.maxOutbox ?? 20_000;
    if (this.kept.length > cap) this.kept.splice(0, this.kept.length - cap);
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
