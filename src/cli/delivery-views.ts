/**
 * How `estafeta deliveries ...` prints a delivery, its KPIs (sending, then engagement), its
 * tracked links, one log with its history, and what a delivery that is not moving waits for,
 * in words and aligned tables. Only formatting: the commands fetch, these print (`--json`
 * prints the API's answer instead).
 */
import type { Analysis, DeliveryDetail, Kpis, LinkReport, LogDetail, SpooledMessages } from '../api/contract.ts';
import type { ApiClient } from './client.ts';
import { printPairs, printTable } from './format.ts';
import { dateTime, failure, fromNow, moment, num, percent, plural } from './words.ts';

type Event = LogDetail['history'][number];

/** A long label or URL cut to fit a table: "https://shop.example/sale?utm_source=…". */
const cut = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

export function showDelivery(d: DeliveryDetail): void {
  printPairs([
    ['Delivery', `${d.id} ${d.label}`],
    ['State', `${d.stateLabel} (${d.stateCode})`],
    ['From', d.from.name ? `${d.from.name} <${d.from.address}>` : d.from.address],
    ['Subject', d.subject],
    ['Recipients', num(d.recipients)],
    ['Tracking', trackingInWords(d)],
    ['Validity', `${Math.round((d.validitySeconds / 3600) * 10) / 10} h${d.validUntil ? ` (until ${moment(d.validUntil)})` : ''}`],
    ['Created', dateTime(d.createdAt)],
    ['Started', dateTime(d.startedAt) || 'not yet'],
  ]);
  if (d.lastError) process.stdout.write(`Last error: ${d.lastError}\n`);
  process.stdout.write('\n');
  showKpis(d.kpis);
}

/** "opens and clicks tracked (HTML links; text links as written)", or that nothing is. */
export function trackingInWords(d: Pick<DeliveryDetail, 'tracking' | 'trackTextLinks'>): string {
  if (!d.tracking) return 'off (no open pixel, links as written)';
  return `opens and clicks (${d.trackTextLinks ? 'HTML and text links' : 'HTML links; text links as written'})`;
}

/**
 * The KPIs as a table of counts with their share of the messages to deliver, then the
 * engagement (rates over sent, as docs/TRACKING.md defines them), then failures by reason.
 */
export function showKpis(k: Kpis): void {
  const share = (n: number) => (k.toDeliver ? percent((n / k.toDeliver) * 100) : '');
  const waiting = k.pending + k.takenIntoAccount;
  printTable(['', 'messages', 'of to deliver'], [
    ['Targeted', num(k.targeted), ''],
    ['Excluded by the analysis', num(k.excluded), ''],
    ['To deliver', num(k.toDeliver), k.toDeliver ? '100 %' : ''],
    ['Sent', num(k.sent), percent(k.successPercent)],
    ['Failed', num(k.failed), percent(k.failedPercent)],
    ['Not final yet', num(waiting), share(waiting)],
    ['  of which soft bounces waiting for a retry', num(k.softBouncesPendingRetry), share(k.softBouncesPendingRetry)],
    ['Cancelled', num(k.cancelled), share(k.cancelled)],
    ['Addresses quarantined', num(k.quarantined), ''],
  ]);
  process.stdout.write('\nEngagement\n');
  showEngagement(k);
  const reasons = Object.entries(k.failuresByReason).sort((a, b) => b[1] - a[1]);
  if (!reasons.length) return;
  process.stdout.write('\nFailures by reason\n');
  printTable(['reason', 'messages', 'of failures'], reasons.map(([reason, n]) => [reason, num(n), k.failed ? percent((n / k.failed) * 100) : '']));
}

/**
 * Opens, clicks, unsubscriptions and complaints, with their rates over the messages sent.
 * Machines' opens and clicks (privacy proxies, link scanners) are on rows of their own that
 * say so: they are in no rate, and a reader of the table should not have to know that.
 */
export function showEngagement(k: Kpis): void {
  const rate = (p: number) => (k.sent ? percent(p) : '');
  printTable(['', 'count', 'of sent'], [
    ['Opened, by people (unique)', num(k.uniqueOpens), rate(k.openRatePercent)],
    ['  opens by people, all', num(k.opens), ''],
    ['Clicked, by people (unique)', num(k.uniqueClicks), rate(k.clickRatePercent)],
    ['  clicks by people, all', num(k.clicks), ''],
    ['  click-to-open (unique clicks of unique opens)', '', k.uniqueOpens ? percent(k.clickToOpenPercent) : ''],
    ['Unsubscriptions', num(k.unsubscribes), rate(k.unsubscribePercent)],
    ['Complaints', num(k.complaints), rate(k.complaintPercent)],
    ['Machine opens (privacy proxies, prefetches; not in the rates)', num(k.machineOpens), ''],
    ['Machine clicks (link scanners; not in the rates)', num(k.machineClicks), ''],
  ]);
}

/** A delivery's tracked links, most clicked first as the API orders them, with their share of the clickers. */
export function showLinks(r: LinkReport): void {
  if (!r.links.length) return void process.stdout.write('no tracked links: tracking is off, or the content has no http(s) link\n');
  printTable(['label', 'URL', 'part', 'clicks', 'unique clicks', 'of clickers'], r.links.map((l) => [cut(l.label || '(no text)', 30), cut(l.url, 60), l.part === 'html' ? 'HTML' : 'text', num(l.clicks), num(l.uniqueClicks), r.uniqueClicks ? percent(l.percentOfClickers) : '']));
  process.stdout.write(`${plural(r.uniqueClicks, 'recipient')} clicked at least one link (people only; machines' clicks are not counted here)\n`);
}

export function showAnalysis(a: Analysis): void {
  for (const l of a.lines) {
    process.stdout.write(`${l.level.toUpperCase().padEnd(7)} ${l.message}\n`);
    for (const s of l.samples ?? []) process.stdout.write(`          ${s}\n`);
  }
  const c = a.counts;
  process.stdout.write(`\n${num(c.targeted)} targeted, ${num(c.toDeliver)} to deliver, ${num(c.excluded)} excluded; ${plural(a.errors, 'error')}, ${plural(a.warnings, 'warning')}${a.errors ? ' (confirmation is blocked)' : ''}\n`);
}

const FINAL = new Set(['sent', 'failed', 'ignored', 'cancelled']);

/** A delivery's tracked links by id, as a click names them: "The sale" https://shop.example/sale. */
export type LinkNames = Map<number, string>;

export function linkNames(r: LinkReport): LinkNames {
  return new Map(r.links.map((l) => [l.id, `${l.label ? `"${cut(l.label, 30)}" ` : ''}${cut(l.url, 60)}`]));
}

/** What happened, in words, for one event of a log's history, with what was judged of it ("machine: …"). */
export function eventInWords(e: Event, links: LinkNames = new Map()): string {
  const note = e.note ? ` (${e.note})` : '';
  return eventTypeInWords(e, links) + note;
}

const UNSUBSCRIBED_HOW: Record<string, string> = { 'one-click': 'with one click from the mail program (RFC 8058)', page: 'on the unsubscribe page', mailto: 'by email (List-Unsubscribe mailto)' };

function eventTypeInWords(e: Event, links: LinkNames): string {
  const p = e.payload as { how?: string; linkId?: number; qualification?: { failureType?: string; failureReason?: string } | null; nextAttemptAt?: number | null; mx?: string | null; mxIp?: string | null; mailKind?: string | null; feedbackType?: string | null; url?: string };
  const why = failure(p.qualification?.failureType, p.qualification?.failureReason);
  switch (e.type) {
    case 'delivered':
      return `Delivered${p.mx ? ` to ${p.mx}${p.mxIp ? ` (${p.mxIp})` : ''}` : ''}`;
    case 'deferred':
      return `Deferred${why ? `: ${why}` : ''}${p.nextAttemptAt ? `, next try ${moment(p.nextAttemptAt)}` : ''}`;
    case 'bounced':
      return `Bounced${why ? `: ${why}` : ''}`;
    case 'expired':
      return `Expired: the validity period ended${why ? ` (${why})` : ''}`;
    case 'cancelled':
      return 'Cancelled: the delivery was stopped';
    case 'bounced-async':
      return `Bounce mail received${why ? `: ${why}` : ''}`;
    case 'complained':
      return `Complaint: marked as spam${p.feedbackType ? ` (${p.feedbackType})` : ''}`;
    case 'auto-replied':
      return 'Automatic reply (out of office or similar)';
    case 'unsubscribed':
      // One-click and the page say how; a mail to the List-Unsubscribe address is an inbound mail.
      return `Unsubscribed${p.how ? ` ${UNSUBSCRIBED_HOW[p.how] ?? p.how}` : p.mailKind ? ` ${UNSUBSCRIBED_HOW.mailto}` : ''}`;
    case 'opened':
      return 'Opened';
    case 'clicked': {
      // A personalized link's event carries the URL it led to; the others name the link.
      const link = p.url ?? (p.linkId === undefined ? undefined : links.get(p.linkId));
      return `Clicked${link ? ` ${link}` : ''}`;
    }
    default:
      // A type added after this CLI was written: its name, readable.
      return e.type.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase()) + (why ? `: ${why}` : '');
  }
}

/** When the MTA tries again, for a log that is not final: from its latest deferral. */
export function nextAttemptInWords(l: LogDetail, now = Date.now()): string | null {
  if (FINAL.has(l.status)) return null;
  const next = [...l.history].reverse().map((e) => (e.payload as { nextAttemptAt?: number | null }).nextAttemptAt).find((t) => typeof t === 'number');
  if (next && next > now - 60_000) return `${moment(next, now)} (${fromNow(next, now)})`;
  return l.status === 'pending' ? 'once the sender hands it to the MTA' : 'as soon as the MTA reaches it';
}

export function showLog(l: LogDetail, links?: LinkNames): void {
  printPairs([
    ['Log', `${l.id} of delivery ${l.deliveryId}`],
    ['Address', l.address],
    ['Message-ID', l.messageId],
    ['Status', l.statusLabel],
    ['Failure', failure(l.failureType, l.failureReason) || null],
    ['Last reply', l.reply],
    ['Attempts', l.attempts],
    ...(nextAttemptInWords(l) ? [['Next attempt', nextAttemptInWords(l)] as [string, unknown]] : []),
    ['Updated', dateTime(l.updatedAt)],
    ...(l.complainedAt ? [['Complained', dateTime(l.complainedAt)] as [string, unknown]] : []),
  ]);
  if (!l.history.length) return void process.stdout.write('\nNo history yet.\n');
  process.stdout.write('\nHistory\n');
  printTable(['at', 'what happened', 'reply'], l.history.map((e) => [dateTime(e.occurredAt), eventInWords(e, links), String((e.payload as { reply?: unknown }).reply ?? '').slice(0, 70)]));
}

/**
 * What a delivery that has not finished waits for: "4 messages wait for a retry; the next at
 * 13:05; the validity ends Sat 18:00", or why messages that did not bounce do not move
 * (`stalled`: nothing became final for a while). Empty while messages are simply being sent.
 */
export async function waitingInWords(api: ApiClient, d: DeliveryDetail, o: { stalled: boolean }, now = Date.now()): Promise<string> {
  const k = d.kpis;
  const ends = d.validUntil ? `the validity ends ${moment(d.validUntil, now)}` : '';
  const waiting = k.pending + k.takenIntoAccount;
  if (d.state === 'pause-requested' || d.state === 'paused') return 'paused: resume it with "estafeta deliveries resume"';
  if (waiting === 0) return k.toDeliver && k.processed + k.cancelled >= k.toDeliver ? 'every message is final; waiting for the delivery to close' : '';
  // While messages flow, the bar says enough; the queue is read only when something waits.
  if (k.softBouncesPendingRetry === 0 && !o.stalled) return '';
  // The soonest message in the MTA's queue: when it is tried next, and why it waits.
  let first: SpooledMessages['messages'][number] | undefined;
  try {
    first = (await api.get<SpooledMessages>(`/mta/messages?delivery=${d.id}&limit=1`)).messages[0];
  } catch {
    // A viewer may not read the MTA's queue: the count and the validity still say enough.
  }
  const next = first ? `the next at ${moment(first.nextAttemptAt, now)}` : '';
  if (k.softBouncesPendingRetry > 0) {
    const n = k.softBouncesPendingRetry;
    return [`${plural(n, 'message')} wait${n === 1 ? 's' : ''} for a retry`, next, ends].filter(Boolean).join('; ');
  }
  // Not bounced, yet not moving: held by a suspension or a rate limit, say so.
  if (first && new Date(first.nextAttemptAt).getTime() > now + 30_000) {
    return [`${plural(waiting, 'message')} not final yet`, `${next}${first.waitReason ? ` (${first.waitReason})` : ''}`, ends].filter(Boolean).join('; ');
  }
  return '';
}
