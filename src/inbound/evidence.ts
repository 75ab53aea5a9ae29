/**
 * What an inbound mail may change about the log it names, by the key that named it:
 *
 * - VERP return path and mailto unsubscribe address: one per recipient, signed, never shown
 *   to anybody but the receiving MTA. Applied in full.
 * - X-Estafeta-Log header: only in the recipient's own copy, so it can only be about that
 *   recipient. Applied in full unless the report names somebody else (a forwarded copy
 *   bouncing elsewhere is not this recipient's failure); a report that names nobody, or a
 *   redacted address, does not contradict it.
 * - Message-ID: viewers read it in the API (with the address), and any copy of the mail
 *   carries it, so on its own it proves little. It needs the current format (signature over
 *   delivery, log and domain), the report's Final-Recipient or Original-Recipient equal to
 *   the log's address, a log that was handed to the MTA, and arrival between the delivery's
 *   start and the end of its validity plus LATE_BOUNCE_MS. Even then it is capped at Soft: it
 *   fails the log but never counts towards the quarantine (the feedback service leaves the
 *   address alone when the event carries `evidence`), so forgeries repeated day after day
 *   add up to nothing; and a complaint or unsubscribe (which denylists) is never applied on it.
 *
 * Anything short of that is not applied: the mail is kept "unmatched" with the reason. Pure:
 * no I/O.
 */
import type { ParsedBounce } from '../mail/bounce-mail.ts';
import type { Qualification } from '../mail/failure.ts';
import { LogStatus } from '../deliveries/log-status.ts';
import { isAbout, type Correlation } from './correlate.ts';

/**
 * How long after a delivery's validity a bounce is still taken as late rather than stale.
 * A remote MTA that accepted the message at the end of the validity may retry on its side
 * before giving up: 5 days in Postfix (maximal_queue_lifetime) and Sendmail (Timeout.queuereturn),
 * 2 in Exchange; 7 days covers them with a margin.
 */
export const LATE_BOUNCE_MS = 7 * 86_400_000;

/** The facts about the named log that the evidence is weighed against. */
export interface LogFacts {
  deliveryId: number;
  address: string;
  status: number;
  /** The domain the delivery's Message-IDs carry (its From address's). */
  fromDomain: string;
  startedAt: number | null;
  validUntil: number;
}

export type Trust =
  | { apply: 'full' }
  /** Applied, with the qualification capped at Soft (capAtSoft). */
  | { apply: 'soft'; reason: string }
  | { apply: 'none'; reason: string };

const SENT_STATUSES: readonly number[] = [LogStatus.Taken, LogStatus.Sent, LogStatus.Failed];

export function weighCorrelation(c: Correlation, log: LogFacts, parsed: ParsedBounce, receivedAt: number): Trust {
  if (c.by === 'verp' || c.by === 'mailto-unsubscribe') return { apply: 'full' };
  const named = parsed.recipients.filter((r) => r.recipient !== null || r.originalRecipient !== null);
  const matches = named.some((r) => isAbout(r, log.address));
  const others = named.map((r) => r.recipient ?? r.originalRecipient).filter((a): a is string => a !== null);
  if (c.by === 'x-estafeta-log') {
    if (matches || named.every((r) => looksRedacted(r.recipient ?? r.originalRecipient ?? ''))) return { apply: 'full' };
    return { apply: 'none', reason: `its X-Estafeta-Log names log ${c.logId} but the report is about ${list(others)}, not that log's recipient` };
  }

  const mid = c.messageId;
  if (!mid || !mid.bound) return { apply: 'none', reason: `its Message-ID is of the older format, whose signature covered only the log id: kept as evidence for log ${c.logId}, not applied` };
  if (mid.deliveryId !== log.deliveryId || mid.domain !== log.fromDomain.toLowerCase()) return { apply: 'none', reason: `its Message-ID names delivery ${mid.deliveryId} at ${mid.domain}, but log ${c.logId} belongs to delivery ${log.deliveryId} from ${log.fromDomain}` };
  if (!matches) return { apply: 'none', reason: `correlated by Message-ID alone and the report is about ${others.length ? list(others) : 'no recipient'}, not log ${c.logId}'s recipient` };
  if (!SENT_STATUSES.includes(log.status) || log.startedAt === null || receivedAt < log.startedAt) return { apply: 'none', reason: `correlated by Message-ID alone for log ${c.logId}, which was never handed to the MTA` };
  if (receivedAt > log.validUntil + LATE_BOUNCE_MS) return { apply: 'none', reason: `correlated by Message-ID alone and received ${days(receivedAt - log.validUntil)} after the delivery's validity ended (late bounces are taken up to ${days(LATE_BOUNCE_MS)})` };
  if (parsed.kind === 'arf') return { apply: 'none', reason: `a complaint or unsubscribe correlated by Message-ID alone would denylist the address of log ${c.logId}: not applied` };
  return { apply: 'soft', reason: 'correlated by Message-ID alone: counted as Soft (no quarantine on it) until a VERP bounce or an SMTP reply confirms it' };
}

/** The qualification a Message-ID-only bounce may have: never Hard, never an immediate quarantine. */
export function capAtSoft(q: Qualification): Qualification {
  return { ...q, failureType: q.failureType === 'Hard' ? 'Soft' : q.failureType, disposition: q.disposition === 'fail-quarantine' ? 'fail' : q.disposition };
}

// Feedback loops that hide the complainer write "redacted", or x's or stars over the local part.
function looksRedacted(address: string): boolean {
  const local = address.slice(0, Math.max(0, address.lastIndexOf('@'))) || address;
  return local === '' || /redacted/i.test(local) || /^[x*#]+$/i.test(local);
}

const list = (addresses: string[]) => addresses.slice(0, 3).map((a) => `<${a}>`).join(', ') + (addresses.length > 3 ? ` and ${addresses.length - 3} more` : '');
const days = (ms: number) => `${Math.round(ms / 86_400_000)} days`;
