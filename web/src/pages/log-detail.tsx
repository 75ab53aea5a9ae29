// One delivery log with its whole history, in words: every attempt and its reply, deferrals
// with the next try, bounce mails and complaints (the mail itself can be opened, shown as
// text, never as HTML), opens, clicks (which link) and unsubscriptions, a machine's said as
// such (the event's note), and a link to the address's quarantine entry. Nothing here prints a
// payload as JSON or a key as it is named in the code.
import { useState } from 'react';
import { get } from '../api.ts';
import { Dialog, ErrorBanner, StatusBadge } from '../components/ui.tsx';
import { bytes, hourMinute, n, when } from '../format.ts';
import { useLoad } from '../live.ts';
import { Link } from '../router.tsx';
import type { InboundMailDetail, LinkReport, LogDetail as LogWithHistory, LogEvent } from '../types.ts';
import { linkName } from './delivery-links.tsx';

interface Qualification {
  category?: string;
  failureType?: string;
  failureReason?: string;
  disposition?: string;
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const words = (s: string) => s.replace(/[-_]/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
const sentence = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** "Soft · Unreachable", and the bounce category when it says more ("rate limited"). */
function qualificationText(q: Qualification | null): string | null {
  if (!q?.failureType) return null;
  const base = `${q.failureType} · ${q.failureReason ?? 'Not defined'}`;
  return q.category && q.category !== 'undetermined' ? `${base} (${words(q.category)})` : base;
}

const UNSUBSCRIBED_HOW: Record<string, string> = { 'one-click': 'with one click (from the mail program, RFC 8058)', page: 'on the unsubscribe page' };
/** The machine the feedback service saw behind an open or a click ("machine: Apple Mail Privacy Protection"), or null for a person. */
const machineOf = (e: LogEvent) => (e.note?.startsWith('machine') ? e.note.replace(/^machine:?\s*/, '') || 'a privacy proxy or a link scanner' : null);

/**
 * What happened, in one line, and what the event adds underneath (reply, where, next try,
 * who fetched a tracked URL). `links` names a click's link by its label (the delivery's link
 * report); without it the link is named by its number.
 */
export function describeEvent(e: LogEvent, links?: Map<number, string>): { title: string; facts: string[]; tone: string } {
  const p = e.payload;
  const q = (p.qualification ?? null) as Qualification | null;
  const qual = qualificationText(q);
  const next = num(p.nextAttemptAt);
  const attempt = num(p.attempt);
  const mx = str(p.mx);
  const where = mx ? `${mx}${str(p.mxIp) ? ` (${str(p.mxIp)})` : ''}` : null;
  const from = str(p.sourceIp) ? `sent from ${str(p.sourceIp)}` : null;
  const client = str(p.ip) ? `from ${str(p.ip)}${str(p.userAgent) ? `, ${str(p.userAgent)}` : ', no user agent'}` : null;
  const facts = [where && `MX ${where}`, from, client].filter((x): x is string => Boolean(x));
  const nth = attempt ? ` (attempt ${n(attempt)})` : '';
  switch (e.type) {
    case 'delivered':
      return { title: `Delivered${nth}: the receiving server accepted the message`, facts, tone: 'delivered' };
    case 'deferred':
      return { title: `Deferred${nth}: ${[qual, next ? `next try ${hourMinute(next)}` : null].filter(Boolean).join(', ')}`, facts, tone: 'deferred' };
    case 'bounced':
      return { title: `Refused${nth}: ${qual ?? 'permanent failure'}`, facts, tone: 'bounced' };
    case 'expired':
      return { title: `Expired: retried until the validity period ended${qual ? ` (${qual})` : ''}`, facts, tone: 'failed' };
    case 'cancelled':
      return { title: 'Cancelled: the delivery was stopped before this message left', facts, tone: 'cancelled' };
    case 'bounced-async':
    case 'async-bounce':
      return { title: q?.disposition === 'ignore' || q?.disposition === 'deliver' ? `Report mail received: ${str(p.mailKind) ? words(String(p.mailKind)) : 'no failure'}, nothing changes` : `Bounce mail received: ${qual ?? 'failure'}`, facts, tone: 'bounced' };
    case 'complained':
    case 'complaint':
      return { title: `Complaint received${str(p.feedbackType) ? ` (${words(String(p.feedbackType))})` : ''}: the recipient marked the message as spam; the address is denylisted`, facts, tone: 'complaint' };
    case 'auto-replied':
    case 'auto-reply':
      return { title: 'Automatic reply received (out of office or similar): nothing changes', facts, tone: 'auto' };
    case 'unsubscribed':
      return { title: `Unsubscribed ${UNSUBSCRIBED_HOW[String(p.how)] ?? 'by email (the List-Unsubscribe address)'}: the address is denylisted`, facts, tone: 'unsubscribed' };
    case 'opened': {
      const machine = machineOf(e);
      return { title: machine ? `Opened by a machine: ${machine} (not counted as an open)` : 'Opened', facts, tone: machine ? 'machine' : 'opened' };
    }
    case 'clicked': {
      const id = num(p.linkId);
      const link = id === null ? 'a link' : linkName(id, links?.get(id));
      const machine = machineOf(e);
      const url = str(p.url);
      return { title: machine ? `Clicked ${link} by a machine: ${machine} (not counted as a click)` : `Clicked ${link}`, facts: url ? [`led to ${url}`, ...facts] : facts, tone: machine ? 'machine' : 'clicked' };
    }
    default:
      return { title: sentence(words(e.type)), facts, tone: 'other' };
  }
}

function InboundMail({ id }: { id: number }) {
  const { data, error } = useLoad(() => get<InboundMailDetail>(`/bounces/inbound/${id}`), [id]);
  return (
    <div className="mail" data-testid="inbound-mail">
      <ErrorBanner error={error} />
      {data && (
        <>
          <p className="small muted">
            Received {when(data.receivedAt)} from {data.from || 'the null sender <>'} · {bytes(data.size)} ·{' '}
            <a href={`/api/v1/bounces/inbound/${id}/raw`} download={`inbound-${id}.eml`}>
              download the raw mail
            </a>
          </p>
          <table className="headers">
            <tbody>
              {data.headers.map((h, i) => (
                <tr key={i}>
                  <th scope="row">{h.name}</th>
                  <td>{h.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.parts.map((part, i) => (
            <figure key={i} className="mail-part">
              <figcaption className="small muted">{part.type}{part.truncated ? ' (first 32 KB)' : ''}</figcaption>
              <pre>{part.text}</pre>
            </figure>
          ))}
        </>
      )}
    </div>
  );
}

function HistoryEvent({ e, links }: { e: LogEvent; links?: Map<number, string> }) {
  const [open, setOpen] = useState(false);
  const d = describeEvent(e, links);
  const reply = str(e.payload.reply);
  const inbound = num(e.payload.inboundId);
  return (
    <li className={`ev ev-${d.tone}`} data-event={e.type}>
      <div className="ev-head">
        <span className="muted small nowrap">{when(e.occurredAt)}</span> <strong>{d.title}</strong>
      </div>
      {reply && <div className="mono small reply-text">{reply}</div>}
      {d.facts.length > 0 && <div className="small muted">{d.facts.join(' · ')}</div>}
      {inbound !== null && (
        <div>
          <button type="button" className="small-button" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? 'Hide the mail' : 'Show the mail received'}
          </button>
          {open && <InboundMail id={inbound} />}
        </div>
      )}
    </li>
  );
}

/** When the next try is, for a message still waiting: the last deferral's next attempt. */
function nextTry(log: LogWithHistory): number | null {
  if (log.status !== 'taken' && log.status !== 'pending') return null;
  const last = [...log.history].reverse().find((e) => e.type === 'deferred');
  return last ? num(last.payload.nextAttemptAt) : null;
}

export function LogDetail({ id, onClose }: { id: number; onClose: () => void }) {
  const { data, error } = useLoad(() => get<LogWithHistory>(`/logs/${id}`), [id]);
  const next = data ? nextTry(data) : null;
  // Link labels for the clicks: one small read, only when the history has a click.
  const clickedIn = data?.history.some((e) => e.type === 'clicked') ? data.deliveryId : null;
  const report = useLoad(() => (clickedIn === null ? Promise.resolve(null) : get<LinkReport>(`/deliveries/${clickedIn}/links`)), [clickedIn]);
  const links = report.data ? new Map(report.data.links.map((l) => [l.id, l.label])) : undefined;
  return (
    <Dialog open title={data ? data.address || `Log ${id}` : `Log ${id}`} onClose={onClose} wide>
      <ErrorBanner error={error} />
      {data && (
        <>
          <dl className="pairs">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={data.status} label={data.statusLabel} />
              {data.complainedAt && <span className="badge tone-red flag">Complaint {when(data.complainedAt)}</span>}
            </dd>
            {data.failureType && (
              <>
                <dt>Failure</dt>
                <dd>
                  {data.failureType} · {data.failureReason ?? 'Not defined'}
                  {next !== null && <>, next try {hourMinute(next)}</>}
                </dd>
              </>
            )}
            <dt>Attempts</dt>
            <dd>{n(data.attempts)}</dd>
            {data.reply && (
              <>
                <dt>Last reply</dt>
                <dd className="mono small">{data.reply}</dd>
              </>
            )}
            <dt>Message-ID</dt>
            <dd className="mono small">{data.messageId}</dd>
            <dt>Created</dt>
            <dd>{when(data.createdAt)}</dd>
            {data.sentAt && (
              <>
                <dt>Sent</dt>
                <dd>{when(data.sentAt)}</dd>
              </>
            )}
            {(data.openedAt || data.clickedAt) && (
              <>
                <dt>Engagement</dt>
                <dd data-testid="engagement">
                  {[data.openedAt && `first opened ${when(data.openedAt)}`, data.clickedAt && `first clicked ${when(data.clickedAt)}`].filter(Boolean).join(' · ')}
                  <span className="small muted"> (people only: machines are in the history)</span>
                  {data.status === 'taken' && <div className="small">This shows the message arrived; its status stays Taken into account until the receiving server or a bounce says more.</div>}
                </dd>
              </>
            )}
            {data.address && (
              <>
                <dt>Quarantine</dt>
                <dd>
                  <Link to={`/quarantine?q=${encodeURIComponent(data.address)}&status=all`} data-testid="quarantine-link">
                    This address in the quarantine
                  </Link>
                </dd>
              </>
            )}
          </dl>
          <h3>History</h3>
          {data.history.length ? (
            <ol className="timeline">
              {data.history.map((e) => (
                <HistoryEvent key={e.id} e={e} links={links} />
              ))}
            </ol>
          ) : (
            <p className="muted">No event yet: the message has not been attempted.</p>
          )}
        </>
      )}
    </Dialog>
  );
}
