/**
 * Processes stored inbound mail: parse (DSN, ARF, auto-reply, non-standard bounce),
 * correlate with a delivery log, qualify with the inbound rules, and write the outcome
 * event together with the mail's new status in one transaction. Mail that cannot be parsed,
 * tied to a log, or qualified is kept with a status saying so (unparsable, unmatched,
 * to-qualify) for an operator to look at; nothing is thrown away.
 */
import type { Db } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import { startLoop, type Loop } from '../lib/wakeup.ts';
import { parseBounceMail, type BounceRecipient, type ParsedBounce } from '../mail/bounce-mail.ts';
import { classifyBounce, type BouncePolicy } from '../classify/index.ts';
import { writeEvents, type EventType, type NewEvent } from '../events/index.ts';
import { recordFailures, withOperatorQualification, type OperatorQualifications } from '../qualification/index.ts';
import type { Qualification } from '../mail/failure.ts';
import { correlateLogId, pickRecipient } from './correlate.ts';
import { readInboundAddress, type InboundTarget } from './recipients.ts';

export interface ProcessorOptions {
  db: Db;
  logger: Logger;
  secret: string;
  bounceDomain: string;
  policy: () => BouncePolicy;
  operatorQualifications: () => OperatorQualifications;
  onEvents(): void;
}

export class InboundProcessor {
  private loop: Loop | null = null;
  constructor(private readonly o: ProcessorOptions) {}

  start(): void {
    this.loop = startLoop(() => this.step().then((n) => n > 0), { idleMs: 500, onError: (err) => this.o.logger.error({ err }, 'inbound processing failed') });
  }
  wake(): void {
    this.loop?.wake();
  }
  async stop(): Promise<void> {
    await this.loop?.stop();
  }

  /** Processes a batch of received mail; returns how many. */
  async step(): Promise<number> {
    const rows = await this.o.db.kysely.selectFrom('inbound_mails').select(['id', 'rcpt_to', 'raw', 'received_at']).where('processed_at', 'is', null).orderBy('id').limit(100).execute();
    let events = 0;
    for (const row of rows) events += await this.processOne(Number(row.id), row.rcpt_to, Buffer.from(row.raw), Number(row.received_at));
    if (events) this.o.onEvents();
    return rows.length;
  }

  private async processOne(id: number, rcptTo: string, raw: Buffer, receivedAt: number): Promise<number> {
    const parsed = await parseBounceMail(raw);
    const targets = rcptTo.split(',').map((a) => readInboundAddress(this.o.secret, this.o.bounceDomain, a)).filter((t): t is InboundTarget => t !== null);
    const unsubscribe = targets.find((t) => t.kind === 'unsubscribe');
    const found = unsubscribe && unsubscribe.kind === 'unsubscribe' ? { logId: unsubscribe.logId, by: 'mailto-unsubscribe' } : correlateLogId(this.o.secret, targets, parsed);
    const log = found ? await this.o.db.kysely.selectFrom('delivery_logs').select(['id', 'delivery_id', 'address']).where('id', '=', found.logId).executeTakeFirst() : undefined;
    const recipient = pickRecipient(parsed, log?.address ?? null);
    const text = recipient ? failureText(recipient) : parsed.subject;
    let qualification: Qualification | null = null;
    if (recipient && !unsubscribe) qualification = withOperatorQualification(classifyBounce(parsed, recipient, this.o.policy()), text, this.o.operatorQualifications());

    const type: EventType | null = unsubscribe ? 'unsubscribed' : eventType(parsed, qualification);
    const status = mailStatus(parsed, Boolean(log), qualification, Boolean(unsubscribe));
    const newEvents: NewEvent[] =
      log && type
        ? [{ key: `in.${id}.${log.id}.${type}`, type, logId: Number(log.id), deliveryId: Number(log.delivery_id), occurredAt: receivedAt, payload: { reply: text.slice(0, 2000), qualification, mailKind: parsed.kind, inboundId: id, feedbackType: parsed.feedbackType, address: log.address } }]
        : [];
    const detail = { correlatedBy: found?.by ?? null, recipient, qualification, error: parsed.error ?? null, subject: parsed.subject, from: parsed.from };
    await this.o.db.tx(async (trx) => {
      await writeEvents(trx, newEvents);
      if (qualification && (parsed.kind === 'dsn' || parsed.kind === 'bounce') && text && qualification.disposition !== 'deliver') {
        await recordFailures(trx, [{ text, source: 'async', qualification, at: receivedAt }]);
      }
      await trx
        .updateTable('inbound_mails')
        .set({ status, kind: unsubscribe ? 'unsubscribe' : parsed.kind, log_id: log ? Number(log.id) : null, detail: JSON.stringify(detail), processed_at: Date.now() })
        .where('id', '=', id)
        .execute();
    });
    return newEvents.length;
  }
}

/** The failure as a log shows it: the diagnostic, preceded by code and status unless it starts with them. */
function failureText(r: BounceRecipient): string {
  const diagnostic = (r.diagnostic ?? '').trim();
  if (/^[245]\d\d\b/.test(diagnostic)) return diagnostic;
  return [r.reply?.code || '', r.status ?? '', diagnostic].filter(Boolean).join(' ');
}

function eventType(parsed: ParsedBounce, q: Qualification | null): EventType | null {
  if (parsed.kind === 'arf') return q?.disposition === 'complaint' && q.category === 'unsubscribe' ? 'unsubscribed' : 'complaint';
  if (parsed.kind === 'auto-reply') return 'auto-reply';
  if (parsed.kind === 'dsn' || parsed.kind === 'bounce') return q ? 'async-bounce' : null;
  return null;
}

function mailStatus(parsed: ParsedBounce, correlated: boolean, q: Qualification | null, unsubscribe: boolean): string {
  if (unsubscribe) return correlated ? 'processed' : 'unmatched';
  if (parsed.kind === 'unparsable') return 'unparsable';
  if (parsed.kind === 'not-bounce') return 'ignored';
  if (q && q.ruleId === null && (parsed.kind === 'dsn' || parsed.kind === 'bounce')) return 'to-qualify';
  return correlated ? 'processed' : 'unmatched';
}
