/**
 * A ready queue: the messages that may go out now from one sending IP to one MX site, held
 * in memory (bounded by the site's MX rule), with the connections open for it. Connection
 * workers take messages from it; an idle worker waits a moment for more before it closes its
 * session. When the site's rate says "not yet", the queue sleeps until a given time.
 */
import { Deque } from '../lib/deque.ts';
import type { MxRule } from '../config/mx-rules.ts';
import type { SendingIp } from '../config/sending-ips.ts';
import type { MxHost } from './mx-resolver.ts';
import type { SpoolMessage } from './spool.ts';

export interface SiteInfo {
  name: string;
  hosts: MxHost[];
  rule: MxRule;
}

export interface Work {
  message: SpoolMessage;
  /** Set when the message was taken away (paused or stopped delivery) while queued. */
  dropped: boolean;
}

export class ReadyQueue {
  private readonly queue = new Deque<Work>();
  private waiters: ((w: Work | null) => void)[] = [];
  active = 0;
  connectFailures = 0;
  /** When set, no connection opens before this time (rate limit, retry after failures). */
  resumeAt = 0;
  resumeTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly key: string,
    public site: SiteInfo,
    readonly source: SendingIp,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  push(work: Work): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(work);
    else this.queue.push(work);
  }

  /** Puts a message back at the front (it keeps its place in line). */
  unshift(work: Work): void {
    this.queue.unshift(work);
  }

  take(): Work | undefined {
    return this.queue.shift();
  }

  drain(): Work[] {
    return this.queue.drain();
  }

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

  /** More waiting than the open, busy connections will take soon. */
  wantsConnection(): boolean {
    return this.queue.length > this.active - this.waiters.length;
  }
}
