/**
 * One MX site in memory: its hosts, its ready queue (messages that may go out now), the
 * connections open to it, and its limits. Connection workers take messages from the queue;
 * an idle worker waits a moment for more before it closes its session.
 */
import { Deque } from '../lib/deque.ts';
import type { MxHost } from './mx-resolver.ts';
import type { SpoolMessage } from './spool.ts';
import type { TlsPolicy } from './smtp-client.ts';

export interface SiteLimits {
  maxConnections: number;
  maxMessagesPerConnection: number;
  maxConnectTries: number;
  tls: TlsPolicy;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  dataTimeoutMs: number;
}

export interface Work {
  message: SpoolMessage;
  /** Set when the message was taken away (paused or stopped delivery) while queued. */
  dropped: boolean;
}

export class Site {
  private readonly queue = new Deque<Work>();
  private waiters: ((w: Work | null) => void)[] = [];
  active = 0;
  private connectFailures = 0;

  constructor(
    readonly name: string,
    public hosts: MxHost[],
    public limits: SiteLimits,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  enqueue(work: Work): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(work);
    else this.queue.push(work);
  }

  take(): Work | undefined {
    return this.queue.shift();
  }

  drain(): Work[] {
    return this.queue.drain();
  }

  /** Waits up to `ms` for a message; null when none came. */
  waitForWork(ms: number): Promise<Work | null> {
    return new Promise((resolve) => {
      const waiter = (w: Work | null) => {
        clearTimeout(timer);
        resolve(w);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== waiter);
        resolve(null);
      }, ms);
      this.waiters.push(waiter);
    });
  }

  wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(null);
  }

  /**
   * Whether another connection should open: there is more waiting than the open
   * connections are about to take, and the limit allows it. After repeated connection
   * failures, only one connection at a time probes the site.
   */
  wantsConnection(): boolean {
    const max = this.connectFailures > 0 ? 1 : this.limits.maxConnections;
    return this.active < max && this.queue.length > this.active - this.waiters.length;
  }

  connectFailed(): void {
    this.connectFailures++;
  }

  connectSucceeded(): void {
    this.connectFailures = 0;
  }
}
