/**
 * What the simulator saw, as counters: per domain and provider (received, deferred,
 * rejected, by reason) and per recipient (how many times received, deferred, rejected).
 *
 * Bounded on purpose: per recipient it keeps one packed number, not messages, so a
 * million recipients cost tens of megabytes; past `maxRecipients` new addresses are only
 * counted in the totals. Connections and async mails are counted where they happen
 * (`limits.ts`, `async-feedback.ts`) and joined in `index.ts`.
 */

/** Why a recipient or message was not accepted. */
export type RefusalReason =
  | 'rateLimited'
  | 'greylisted'
  | 'deferred'
  | 'unknown'
  | 'full'
  | 'overquota'
  | 'disabled'
  | 'spam'
  | 'relayDenied'
  | 'dropped';

export interface ReplyTally {
  /** Recipients accepted at the end of DATA (one per recipient of each accepted message). */
  received: number;
  /** Recipients answered with a 4xx (or whose connection was dropped). */
  deferred: number;
  /** Recipients answered with a 5xx. */
  rejected: number;
  byReason: Partial<Record<RefusalReason, number>>;
}

export interface RecipientCounts {
  received: number;
  deferred: number;
  rejected: number;
}

export interface RecipientSummary {
  /** Distinct recipients seen (attempted at least once). */
  distinct: number;
  /** Distinct recipients accepted at least once. */
  received: number;
  /** Recipients accepted more than once: a sender that sends twice shows here. */
  receivedMoreThanOnce: number;
  maxReceived: number;
  /** A few of those received more than once, for error messages. */
  examplesReceivedMoreThanOnce: string[];
  /** Receptions and refusals of recipients not tracked one by one (past `maxRecipients`). */
  untracked: number;
}

// Three 16-bit counters packed in one double (exact up to 2^53): received, deferred, rejected.
const FIELD = 0x10000;
const MAX = FIELD - 1;
const unpack = (v: number): RecipientCounts => ({
  received: v % FIELD,
  deferred: Math.floor(v / FIELD) % FIELD,
  rejected: Math.floor(v / FIELD / FIELD) % FIELD,
});
const pack = (c: RecipientCounts) => Math.min(c.received, MAX) + Math.min(c.deferred, MAX) * FIELD + Math.min(c.rejected, MAX) * FIELD * FIELD;

const emptyTally = (): ReplyTally => ({ received: 0, deferred: 0, rejected: 0, byReason: {} });

export class DeliveryCounters {
  readonly totals: ReplyTally & { messages: number } = { ...emptyTally(), messages: 0 };
  private readonly byDomain = new Map<string, ReplyTally>();
  private readonly byProvider = new Map<string, ReplyTally>();
  private readonly recipients = new Map<string, number>();
  private receivedOnce = 0;
  private receivedMore = 0;
  private maxReceived = 0;
  private untracked = 0;
  private readonly examples: string[] = [];

  constructor(private readonly maxRecipients = 5_000_000) {}

  /** One accepted message (a DATA transaction) with its accepted recipients. */
  received(provider: string, recipients: string[]): void {
    this.totals.messages++;
    for (const address of recipients) {
      this.tallies(provider, address).forEach((t) => t.received++);
      const c = this.update(address, (r) => r.received++);
      if (!c) continue;
      if (c.received === 1) this.receivedOnce++;
      if (c.received === 2) {
        this.receivedMore++;
        if (this.examples.length < 20) this.examples.push(address);
      }
      this.maxReceived = Math.max(this.maxReceived, c.received);
    }
  }

  /** A recipient answered 4xx (`temporary`) or 5xx, for `reason`. */
  refused(provider: string, address: string, reason: RefusalReason, temporary: boolean): void {
    for (const t of this.tallies(provider, address)) {
      if (temporary) t.deferred++;
      else t.rejected++;
      t.byReason[reason] = (t.byReason[reason] ?? 0) + 1;
    }
    this.update(address, (r) => (temporary ? r.deferred++ : r.rejected++));
  }

  /**
   * Attempts made so far for a recipient; the attempt number makes random deferrals
   * repeatable. For a recipient not tracked (past maxRecipients) it is random, so a retry
   * is not deferred forever.
   */
  attempts(address: string): number {
    const v = this.recipients.get(address);
    if (v === undefined && this.recipients.size >= this.maxRecipients) return Math.floor(Math.random() * 1e9);
    const c = unpack(v ?? 0);
    return c.received + c.deferred + c.rejected;
  }

  recipient(address: string): RecipientCounts | null {
    const v = this.recipients.get(address.toLowerCase());
    return v === undefined ? null : unpack(v);
  }

  domains(): Record<string, ReplyTally> {
    return Object.fromEntries(this.byDomain);
  }

  providers(): Record<string, ReplyTally> {
    return Object.fromEntries(this.byProvider);
  }

  recipientSummary(): RecipientSummary {
    return {
      distinct: this.recipients.size,
      received: this.receivedOnce,
      receivedMoreThanOnce: this.receivedMore,
      maxReceived: this.maxReceived,
      examplesReceivedMoreThanOnce: [...this.examples],
      untracked: this.untracked,
    };
  }

  private tallies(provider: string, address: string): ReplyTally[] {
    const domain = address.slice(address.lastIndexOf('@') + 1);
    let d = this.byDomain.get(domain);
    if (!d) this.byDomain.set(domain, (d = emptyTally()));
    let p = this.byProvider.get(provider);
    if (!p) this.byProvider.set(provider, (p = emptyTally()));
    return [this.totals, d, p];
  }

  private update(address: string, change: (c: RecipientCounts) => void): RecipientCounts | null {
    const v = this.recipients.get(address);
    if (v === undefined && this.recipients.size >= this.maxRecipients) {
      this.untracked++;
      return null;
    }
    const c = unpack(v ?? 0);
    change(c);
    this.recipients.set(address, pack(c));
    return c;
  }
}
