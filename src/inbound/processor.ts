/**
 * Processes stored inbound mail: parse (DSN, ARF, auto-reply, non-standard bounce),
 * correlate with a delivery log, weigh what that correlation is worth (evidence.ts), qualify
 * with the inbound rules, and write the outcome event together with the mail's new status in
 * one transaction. Mail that cannot be parsed, tied to a log, or qualified is kept with a
 * status saying so (unparsable, unmatched, to-qualify) for an operator to look at; nothing
 * is thrown away. Mail whose evidence is too weak is "unmatched" with the reason in its
 * detail (notCorrelated), and its failure text does not feed the qualification table.
 */
import type { Db } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import { startLoop, type Loop } from '../lib/wakeup.ts';
import { parseBounceMail, type BounceRecipient, type ParsedBounce } from '../mail/bounce-mail.ts';
import { classifyBounce, type BouncePolicy } from '../qualification/index.ts';
import { writeEvents, type EventSignals, type EventType, type NewEvent } from '../events/index.ts';
import { recordFailures, withOperatorQualification, type OperatorQualifications } from '../qualification/index.ts';
import type { Qualification } from '../mail/failure.ts';
import { domainOf } from '../mail/address.ts';
import { correlateLogId, pickRecipient, type Correlation } from './correlate.ts';
import { capAtSoft, weighCorrelation, type LogFacts, type Trust } from './evidence.ts';
import { readInboundAddress, type InboundTarget } from './accepted-addresses.ts';
import type { Emitter } from '../lib/signals.ts';

export interface ProcessorOptions {
  db: Db;
  logger: Logger;
  secret: string;
  bounceDomain: string;
  policy: () => BouncePolicy;
  operatorQualifications: () => OperatorQualifications;
  /** Told when outcome events from bounce mails are written (the feedback service listens). */
  signals?: Emitter<EventSignals>;
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
    if (events) this.o.signals?.emit('outcomes:written', { source: 'inbound', events, delivered: 0 });
    return rows.length;
  }

  private async processOne(id: number, rcptTo: string, raw: Buffer, receivedAt: number): Promise<number> {
    const parsed = await parseBounceMail(raw);
    const targets = rcptTo.split(',').map((a) => readInboundAddress(this.o.secret, this.o.bounceDomain, a)).filter((t): t is InboundTarget => t !== null);
    const unsubscribe = targets.find((t) => t.kind === 'unsubscribe');
    const found: Correlation | null = unsubscribe && unsubscribe.kind === 'unsubscribe' ? { logId: unsubscribe.logId, by: 'mailto-unsubscribe' } : correlateLogId(this.o.secret, targets, parsed);
    const named = found ? await this.loadLog(found.logId) : undefined;
    const trust: Trust | null = found && named ? weighCorrelation(found, named, parsed, receivedAt) : null;
    const refused = found && trust?.apply === 'none' ? { logId: found.logId, by: found.by, reason: trust.reason } : null;
    const log = trust && trust.apply !== 'none' ? named : undefined;
    const recipient = pickRecipient(parsed, log?.address ?? null);
    const text = recipient ? failureText(recipient) : parsed.subject;
    let qualification: Qualification | null = null;
    if (recipient && !unsubscribe) qualification = withOperatorQualification(classifyBounce(parsed, recipient, this.o.policy()), text, this.o.operatorQualifications());
    const applied = qualification && trust?.apply === 'soft' ? capAtSoft(qualification) : qualification;

    const type: EventType | null = unsubscribe ? 'unsubscribed' : eventType(parsed, qualification);
    const status = refused ? 'unmatched' : mailStatus(parsed, Boolean(log), qualification, Boolean(unsubscribe));
    // One unsubscription per message, whichever way it came (mailto, one-click POST, the page).
    const newEvents: NewEvent[] =
      log && type
        ? [{ key: type === 'unsubscribed' ? `unsubscribe.${log.id}` : `in.${id}.${log.id}.${type}`, type, logId: log.id, deliveryId: log.deliveryId, occurredAt: receivedAt, payload: { reply: text.slice(0, 2000), qualification: applied, mailKind: parsed.kind, inboundId: id, feedbackType: parsed.feedbackType, address: log.address, ...(trust?.apply === 'soft' ? { evidence: trust.reason } : {}) } }]
        : [];
    const detail = {
      correlatedBy: refused ? null : (found?.by ?? null),
      recipient,
      qualification: applied,
      ...(trust?.apply === 'soft' ? { evidence: trust.reason, classified: qualification } : {}),
      ...(refused ? { notCorrelated: refused } : {}),
      error: parsed.error ?? null,
      subject: parsed.subject,
      from: parsed.from,
    };
    await this.o.db.tx(async (trx) => {
      await writeEvents(trx, newEvents);
      // Refused mail may be forged: it must not teach the qualification table anything.
      if (!refused && qualification && (parsed.kind === 'dsn' || parsed.kind === 'bounce') && text && qualification.disposition !== 'deliver') {
        await recordFailures(trx, [{ text, source: 'async', qualification, at: receivedAt }]);
      }
      await trx
        .updateTable('inbound_mails')
        .set({ status, kind: unsubscribe ? 'unsubscribe' : parsed.kind, log_id: log ? log.id : null, detail: JSON.stringify(detail), processed_at: Date.now() })
        .where('id', '=', id)
        .execute();
    });
    return newEvents.length;
  }

  /** The named log with what evidence.ts weighs against, or undefined when there is no such log. */
  private async loadLog(logId: number): Promise<(LogFacts & { id: number }) | undefined> {
    const r = await this.o.db.kysely
      .selectFrom('delivery_logs as l')
      .innerJoin('deliveries as d', 'd.id', 'l.delivery_id')
      .select(['l.id', 'l.delivery_id', 'l.address', 'l.status', 'l.message_id', 'd.from_address', 'd.valid_until', 'd.validity_ms', 'd.started_at', 'd.created_at'])
      .where('l.id', '=', logId)
      .executeTakeFirst();
    if (!r) return undefined;
    const startedAt = r.started_at === null ? null : Number(r.started_at);
    return {
      id: Number(r.id),
      deliveryId: Number(r.delivery_id),
      address: r.address,
      status: Number(r.status),
      // A stream's log keeps its Message-ID, whose domain is its message's From.
      fromDomain: r.message_id ? domainOf(r.message_id.replace(/>$/, '')) : domainOf(r.from_address),
      startedAt,
      validUntil: r.valid_until !== null ? Number(r.valid_until) : (startedAt ?? Number(r.created_at)) + Number(r.validity_ms),
    };
  }
}

/** The failure as a log shows it: the diagnostic, preceded by code and status unless it starts with them. */
function failureText(r: BounceRecipient): string {
  const diagnostic = (r.diagnostic ?? '').trim();
  if (/^[245]\d\d\b/.test(diagnostic)) return diagnostic;
  return [r.reply?.code || '', r.status ?? '', diagnostic].filter(Boolean).join(' ');
}

function eventType(parsed: ParsedBounce, q: Qualification | null): EventType | null {
  if (parsed.kind === 'arf') return q?.disposition === 'complaint' && q.category === 'unsubscribe' ? 'unsubscribed' : 'complained';
  if (parsed.kind === 'auto-reply') return 'auto-replied';
  if (parsed.kind === 'dsn' || parsed.kind === 'bounce') return q ? 'bounced-async' : null;
  return null;
}

function mailStatus(parsed: ParsedBounce, correlated: boolean, q: Qualification | null, unsubscribe: boolean): string {
  if (unsubscribe) return correlated ? 'processed' : 'unmatched';
  if (parsed.kind === 'unparsable') return 'unparsable';
  if (parsed.kind === 'not-bounce') return 'ignored';
  if (q && q.ruleId === null && (parsed.kind === 'dsn' || parsed.kind === 'bounce')) return 'to-qualify';
  return correlated ? 'processed' : 'unmatched';
}
