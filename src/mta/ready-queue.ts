/**
 * A ready queue: the messages that may go out now from one sending IP to one MX site, held
 * in memory (bounded by the site's MX rule), with the connections open for it. Connection
 * workers take messages from it; an idle worker waits a moment for more before it closes its
 * session. When the site's rate says "not yet", the queue rests until a given time.
 *
 * Its state changes only through the named operations below, so the engine (which fills
 * it) and the dispatcher (which empties it) cannot disagree about what a field means.
 * Not here: when to open a connection or what a reply means (dispatch.ts, outcome.ts).
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
  /** Set while its SMTP transaction runs: a drain that times out must not hand it back. */
  sending?: boolean;
}

export class ReadyQueue {
  private readonly queue = new Deque<Work>();
  private waiters: ((w: Work | null) => void)[] = [];
  private current: SiteInfo;
  private open = 0;
  private failures = 0;
  /** No connection opens before this time (rate limit, rest after failures). */
  private restingUntil = 0;
  private resumeTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly key: string,
    site: SiteInfo,
    readonly source: SendingIp,
  ) {
    this.current = site;
  }

  get site(): SiteInfo {
    return this.current;
  }

  /** The site's hosts or rule may have changed since the queue was made (DNS, policy reload). */
  updateSite(site: SiteInfo): void {
    this.current = site;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Connections open for this queue. */
  get active(): number {
    return this.open;
  }

  /** Connection attempts that failed in a row. */
  get connectFailures(): number {
    return this.failures;
  }

  get resumeAt(): number {
    return this.restingUntil;
  }

  /** Hands the message to a waiting connection, or queues it at the back. */
  push(work: Work): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(work);
    else this.queue.push(work);
  }

  /** Puts a message back at the front (it keeps its place in line). */
  requeue(work: Work): void {
    this.queue.unshift(work);
  }

  take(): Work | undefined {
    return this.queue.shift();
  }

  /** Empties the queue and returns what it held, in order. */
  drain(): Work[] {
    return this.queue.drain();
  }

  /** The next message pushed within `ms`, or null (also when `wakeAll` is called). */
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

  /** Every waiting connection gets null now (shutdown). */
  wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(null);
  }

  /** More waiting than the open, busy connections will take soon. */
  wantsConnection(): boolean {
    return this.queue.length > this.open - this.waiters.length;
  }

  connectionOpened(): void {
    this.open++;
  }

  connectionClosed(): void {
    this.open = Math.max(0, this.open - 1);
  }

  connectSucceeded(): void {
    this.failures = 0;
  }

  /** Counts a failed connection attempt; returns how many failed in a row. */
  connectFailed(): number {
    return ++this.failures;
  }

  /** No connection opens before `at`. */
  restUntil(at: number): void {
    this.restingUntil = at;
  }

  get resumeScheduled(): boolean {
    return this.resumeTimer !== null;
  }

  /** Calls `resume` once after `ms`, unless a resume is already scheduled. */
  scheduleResume(ms: number, resume: () => void): void {
    if (this.resumeTimer) return;
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = null;
      resume();
    }, ms);
  }

  cancelResume(): void {
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = null;
  }

  /** Nothing queued, no connection, nothing scheduled: the queue may be dropped. */
  isIdle(): boolean {
    return this.open === 0 && this.queue.length === 0 && this.resumeTimer === null;
  }
}
