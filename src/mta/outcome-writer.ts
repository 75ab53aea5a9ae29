/**
 * Writes attempt outcomes in batches: the spool change (remove or reschedule) and the
 * outcome event commit in one transaction, a few hundred messages at a time, so the MTA
 * pays one commit (and one log flush) per batch instead of one per message. Every MTA
 * outcome event is written here, with one key format.
 */
import type { Db } from '../db/index.ts';
import { writeEvents, type NewEvent } from '../events/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { Outcome } from './outcome.ts';
import { removeMessages, reschedule } from './spool.ts';
import { replyText } from './outcome.ts';

export class OutcomeWriter {
  private pending: Outcome[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly owner: string,
    private readonly logger: Logger,
    private readonly options: { maxBatch: number; maxDelayMs: number; onFlushed: (outcomes: Outcome[]) => void },
  ) {}

  get backlog(): number {
    return this.pending.length;
  }

  add(outcome: Outcome): void {
    this.pending.push(outcome);
    if (this.pending.length >= this.options.maxBatch) void this.flush();
    else if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.options.maxDelayMs);
  }

  /** Writes everything pending; concurrent calls wait for the same write. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.flushing) {
      await this.flushing;
      if (this.pending.length) return this.flush();
      return;
    }
    if (!this.pending.length) return;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.write(batch)
      .then(() => this.options.onFlushed(batch))
      .catch((err) => {
        // Keep the outcomes and try again: losing them would re-send delivered messages.
        this.logger.error({ err, count: batch.length }, 'writing MTA outcomes failed; retrying');
        this.pending = batch.concat(this.pending);
        if (!this.timer) this.timer = setTimeout(() => void this.flush(), 1000);
      })
      .finally(() => {
        this.flushing = null;
      });
    await this.flushing;
  }

  private async write(batch: Outcome[]): Promise<void> {
    const finals = batch.filter((o) => o.kind !== 'deferred').map((o) => o.message.id);
    const events: NewEvent[] = batch.filter((o) => o.countsAsAttempt).map(outcomeEvent);
    await this.db.tx(async (trx) => {
      await removeMessages(trx, this.owner, finals);
      for (const o of batch) {
        if (o.kind === 'deferred') await reschedule(trx, this.owner, o.message.id, o.nextAttemptAt!, replyText(o.reply), o.countsAsAttempt);
      }
      await writeEvents(trx, events);
    });
  }
}

/**
 * The event of one outcome. The key names the message, the attempt and the kind, so the
 * same outcome written twice (a retried batch, a stopped message seen by two processes)
 * is stored once. A cancellation says only why (the operator's stop): no server answered.
 */
export function outcomeEvent(o: Outcome): NewEvent {
  const attempt = o.message.attempts + 1;
  const common = { key: `mta.${o.message.id}.${attempt}.${o.kind}`, type: o.kind, logId: o.message.logId, deliveryId: o.message.deliveryId, occurredAt: o.at };
  if (o.kind === 'cancelled') return { ...common, payload: { reply: o.reply.text } };
  return {
    ...common,
    payload: {
      reply: replyText(o.reply),
      qualification: o.qualification,
      attempt,
      nextAttemptAt: o.nextAttemptAt,
      mx: o.mx,
      mxIp: o.mxIp,
      sourceIp: o.sourceIp,
      address: o.message.rcptTo,
    },
  };
}
