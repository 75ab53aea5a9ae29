/**
 * The Email Feedback Service's rules: how one outcome event changes one delivery log, as the
 * seed's table says. Relayed → "Taken into account" (done by the sender); delivered → Sent;
 * hard bounce → Failed; soft bounce → status unchanged, failure reason updated; retries
 * ended by the validity period → Failed; an asynchronous bounce after Sent → Failed; a
 * complaint keeps Sent and records the complaint (both facts are shown). A change to a
 * final status only happens when the event is at least as new as the log's current truth,
 * so events that arrive out of order leave the newest truth. Pure: no I/O.
 *
 * Opens and clicks never change a log's status (one on a log still "Taken into account" is
 * evidence it arrived, shown in its history, not a Sent). Each is judged a person's or a
 * machine's (a proxy fetching at delivery, a scanner following links): see engagement.ts.
 */
import type { Qualification } from '../mail/failure.ts';
import type { StoredEvent } from '../events/index.ts';
import { failureReasonCode, failureTypeCode, FINAL_LOG_STATUSES, LogStatus } from '../deliveries/log-status.ts';
import type { LogWrite } from '../deliveries/log-writes.ts';
import type { QuarantineFact } from '../quarantine/index.ts';
import { judgeEngagement, type EngagementTiming } from './engagement.ts';

/** A log as the rules see it: what deliveries/ writes back, and whose it is. */
export interface LogState extends LogWrite {
  deliveryId: number;
  address: string;
}

export interface Effect {
  log: LogState;
  quarantine: QuarantineFact | null;
  /** Counter names to bump by one besides status and reason (complaints). */
  bump: string[];
  /** What was judged, for the event's history line (a machine's open, and why). */
  note?: string;
}

const UNSUBSCRIBED_HOW: Record<string, string> = { 'one-click': 'with one click (RFC 8058, from the mail program)', page: 'on the unsubscribe page' };

const isFinal = (status: number) => (FINAL_LOG_STATUSES as readonly number[]).includes(status);

/** Applies one event to a log; returns the new log state and the side facts it causes. */
export function applyEvent(log: LogState, event: StoredEvent, timing: EngagementTiming = { proxyPrefetchMs: 0, clickBeforeOpenMs: 0 }): Effect {
  const p = event.payload;
  const at = event.occurredAt;
  const q = (p.qualification ?? null) as Qualification | null;
  const reply = typeof p.reply === 'string' ? p.reply.slice(0, 2000) : log.reply;
  const attempts = typeof p.attempt === 'number' ? Math.max(log.attempts, p.attempt) : log.attempts;
  const newer = at >= log.eventAt;
  const canChange = !isFinal(log.status) || newer;
  const none: Effect = { log, quarantine: null, bump: [] };
  const fail = (qual: Qualification | null, text: string | null): LogState => ({
    ...log,
    status: LogStatus.Failed,
    failureType: failureTypeCode(qual?.failureType ?? 'Not defined'),
    failureReason: failureReasonCode(qual?.failureReason ?? 'Not defined'),
    reply: text,
    attempts,
    eventAt: at,
  });
  const errorFact = (qual: Qualification | null): QuarantineFact | null =>
    qual ? { kind: 'error', at, failureType: qual.failureType, failureReason: qual.failureReason, quarantineNow: qual.disposition === 'fail-quarantine', text: reply ?? '' } : null;

  switch (event.type) {
    case 'delivered':
      if (!canChange) return none;
      return { log: { ...log, status: LogStatus.Sent, failureType: 0, failureReason: null, reply, attempts, eventAt: at, sentAt: at }, quarantine: { kind: 'success', at }, bump: [] };
    case 'deferred':
      // Soft bounce: the status stays "Taken into account"; only the reason is updated.
      if (isFinal(log.status) || !newer) return { ...none, log: { ...log, attempts } };
      return {
        log: { ...log, failureType: failureTypeCode(q?.failureType ?? 'Soft'), failureReason: failureReasonCode(q?.failureReason ?? 'Unreachable'), reply, attempts, eventAt: at },
        quarantine: errorFact(q),
        bump: [],
      };
    case 'bounced':
    case 'expired':
      if (!canChange) return none;
      return { log: fail(q, reply), quarantine: errorFact(q), bump: [] };
    case 'cancelled':
      if (isFinal(log.status)) return none;
      return { log: { ...log, status: LogStatus.Cancelled, reply, eventAt: at }, quarantine: null, bump: [] };
    case 'bounced-async': {
      // A bounce mail reports a final failure: the reporting MTA has stopped trying, so even a
      // soft category (mailbox full) fails the message; its type decides the quarantine.
      // Delay notices and success reports come with disposition ignore or deliver.
      if (!q || q.disposition === 'ignore' || q.disposition === 'deliver') return none;
      if (!canChange && log.status !== LogStatus.Sent) return none;
      // A bounce mail is later news than the "Sent" it contradicts, whatever the clocks say.
      // One tied to its log by weaker evidence (a Message-ID, which viewers can read) fails
      // the log but never counts towards the quarantine: repeated forgeries would add up.
      return { log: fail(q, reply), quarantine: p.evidence ? null : errorFact(q), bump: [] };
    }
    case 'complained':
      if (log.complainedAt !== null) return none;
      return { log: { ...log, complainedAt: at }, quarantine: { kind: 'complaint', at, text: `complaint (${p.feedbackType ?? 'abuse'})` }, bump: ['complaints'] };
    case 'unsubscribed':
      return { log, quarantine: { kind: 'unsubscribe', at, text: `unsubscribed ${UNSUBSCRIBED_HOW[String(p.how)] ?? 'by email (List-Unsubscribe mailto)'}` }, bump: ['unsubscribes'] };
    case 'opened':
    case 'clicked':
      return applyEngagement(log, event, timing);
    case 'auto-replied':
    default:
      return none;
  }
}

/** An open or a click: counted as a person's or a machine's; a person's click is also an open. */
function applyEngagement(log: LogState, event: StoredEvent, timing: EngagementTiming): Effect {
  const at = event.occurredAt;
  const machine = judgeEngagement(log, event, timing);
  if (machine) return { log, quarantine: null, bump: [event.type === 'opened' ? 'machineOpens' : 'machineClicks'], note: `machine: ${machine}` };
  const bump: string[] = [];
  let next = log;
  const opened = () => {
    if (next.openedAt === null) {
      next = { ...next, openedAt: at };
      bump.push('uniqueOpens');
    }
  };
  if (event.type === 'opened') {
    bump.push('opens');
    opened();
    return { log: next, quarantine: null, bump };
  }
  const linkId = Number(event.payload.linkId);
  const clicked = next.clickedLinks ? next.clickedLinks.split(',') : [];
  bump.push('clicks', `link:${linkId}:clicks`);
  if (Number.isSafeInteger(linkId) && !clicked.includes(String(linkId))) {
    next = { ...next, clickedLinks: [...clicked, String(linkId)].join(',') };
    bump.push(`link:${linkId}:unique`);
  }
  if (next.clickedAt === null) {
    next = { ...next, clickedAt: at };
    bump.push('uniqueClicks');
  }
  opened();
  return { log: next, quarantine: null, bump };
}
