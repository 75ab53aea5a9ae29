// The delivery logs: one row per recipient, searched by address and filtered by status,
// failure type, reason, domain, complaints and automatic replies; the filters live in the URL
// (a view can be shared), the total says how many logs match, waiting messages show their
// next try, and the CSV export downloads exactly what the filters show (streamed by the
// server, so a million rows work). Paged by keyset: the hundredth page costs what the first
// does. The list reads again when the delivery's figures move. A message is also found by
// its Message-ID (from a complaint, a recipient, a receiving MTA's log). A message stream's
// logs are this same list (stream.tsx passes its paths).
import { useEffect, useRef, useState } from 'react';
import { get, qs } from '../api.ts';
import { Card, Empty, ErrorBanner, StatusBadge } from '../components/ui.tsx';
import { n, when } from '../format.ts';
import { useLoad } from '../live.ts';
import { navigate, useLocation } from '../router.tsx';
import type { DeliveryDetail, LogDetail as LogWithHistory, LogPage } from '../types.ts';
import { LogDetail } from './log-detail.tsx';

const STATUSES: [string, string][] = [['', 'Any status'], ['pending', 'Pending'], ['taken', 'Taken into account'], ['sent', 'Sent'], ['failed', 'Failed'], ['ignored', 'Ignored'], ['cancelled', 'Delivery cancelled']];
const TYPES = ['Hard', 'Soft', 'Ignored', 'Not defined'];
const REASONS = ['User unknown', 'Invalid domain', 'Unreachable', 'Account disabled', 'Mailbox full', 'Not connected', 'Refused', 'Address not specified', 'Bad-quality address', 'Denylisted address', 'Address in quarantine', 'Double', 'Error ignored', 'Not defined'];
const FLAGS: [string, string][] = [['', 'Any'], ['complained', 'Complaints'], ['auto-replied', 'Automatic replies']];
const FIELDS = ['q', 'status', 'failureType', 'failureReason', 'domain', 'flag'] as const;
type Filters = Record<(typeof FIELDS)[number], string>;
const PAGE = 50;

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/** The value, changed at most once per `ms`: the last change is applied when the time is up. */
function useThrottled<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  const last = useRef(0);
  useEffect(() => {
    const wait = Math.max(0, last.current + ms - Date.now());
    const t = setTimeout(() => {
      last.current = Date.now();
      setV(value);
    }, wait);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/** What the list needs of a delivery or a stream: its id, figures (to read again when they move) and state. */
export type LogsOf = Pick<DeliveryDetail, 'id' | 'state'> & { kpis: Pick<DeliveryDetail['kpis'], 'processed' | 'takenIntoAccount' | 'complaints' | 'softBouncesPendingRetry' | 'failuresByReason' | 'targeted'> };

export function LogsTab({ d, logId, base = `/deliveries/${d.id}/logs`, apiPath = `/deliveries/${d.id}/logs`, empty = 'No delivery log yet: logs are written by the analysis.' }: { d: LogsOf; logId?: number; base?: string; apiPath?: string; empty?: string }) {
  const { query } = useLocation();
  const fromUrl = Object.fromEntries(FIELDS.map((k) => [k, query.get(k) ?? ''])) as Filters;
  // Typing in the text fields updates the URL after a pause; the selects at once.
  const [text, setText] = useState({ q: fromUrl.q, domain: fromUrl.domain });
  const typed = useDebounced(text, 300);
  const filters: Filters = { ...fromUrl };
  const key = JSON.stringify(filters);
  const go = (next: Partial<Filters>, path = base) => navigate(`${path}${qs({ ...filters, ...next })}`, true);
  useEffect(() => {
    if (typed.q.trim() !== fromUrl.q || typed.domain.trim() !== fromUrl.domain) go({ q: typed.q.trim(), domain: typed.domain.trim() }, logId !== undefined ? `${base}/${logId}` : base);
  }, [typed.q, typed.domain]); // eslint-disable-line react-hooks/exhaustive-deps
  const [cursors, setCursors] = useState<number[]>([0]);
  useEffect(() => setCursors([0]), [key]);
  const after = cursors[cursors.length - 1];
  // New outcomes, complaints or replies make the list read again (no Refresh button), at most
  // every 3 seconds however fast the delivery's figures move.
  const moved = useThrottled(`${d.kpis.processed}:${d.kpis.takenIntoAccount}:${d.kpis.complaints}:${d.kpis.softBouncesPendingRetry}:${d.state}`, 3000);
  const { data, error, loading } = useLoad(() => get<LogPage>(`${apiPath}${qs({ ...filters, after: after || undefined, limit: PAGE })}`), [d.id, key, after, moved]);
  // Dim the table only while other filters or another page load, not for a background refresh.
  const wanted = `${key}|${after}`;
  const [shown, setShown] = useState(wanted);
  useEffect(() => {
    if (!loading) setShown(wanted);
  }, [loading]); // eslint-disable-line react-hooks/exhaustive-deps
  const dim = loading && shown !== wanted;
  const page = cursors.length;
  const reasons = [...new Set([...Object.keys(d.kpis.failuresByReason), ...REASONS])];
  const select = (k: keyof Filters) => (e: { target: { value: string } }) => go({ [k]: e.target.value });
  const open = (id: number) => navigate(`${base}/${id}${qs(filters)}`);
  const [messageId, setMessageId] = useState('');
  const [lookupError, setLookupError] = useState<string | null>(null);
  const lookup = async () => {
    setLookupError(null);
    const wanted = messageId.trim();
    if (!wanted) return;
    try {
      const found = await get<LogWithHistory>(`/logs/by-message-id${qs({ messageId: wanted })}`);
      if (found.deliveryId !== d.id) return setLookupError(`This Message-ID is a message of delivery or stream #${found.deliveryId}, not of this one.`);
      open(found.id);
    } catch (e) {
      setLookupError((e as Error).message);
    }
  };

  return (
    <Card>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Address
          <input type="search" name="q" placeholder="Search an address" value={text.q} onChange={(e) => setText({ ...text, q: e.target.value })} />
        </label>
        <label>
          Status
          <select name="status" value={filters.status} onChange={select('status')}>
            {STATUSES.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label>
          Failure type
          <select name="failureType" value={filters.failureType} onChange={select('failureType')}>
            <option value="">Any type</option>
            {TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Failure reason
          <select name="failureReason" value={filters.failureReason} onChange={select('failureReason')}>
            <option value="">Any reason</option>
            {reasons.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Domain
          <input name="domain" placeholder="example.com" value={text.domain} onChange={(e) => setText({ ...text, domain: e.target.value })} />
        </label>
        <label>
          Feedback
          <select name="flag" value={filters.flag} onChange={select('flag')}>
            {FLAGS.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label>
          Message-ID
          <input
            name="messageId"
            className="mono"
            placeholder="<…@example.com>"
            value={messageId}
            onChange={(e) => setMessageId(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                void lookup();
              }
            }}
          />
        </label>
        <button type="button" onClick={() => void lookup()} disabled={!messageId.trim()}>
          Find
        </button>
        <a className="button" href={`/api/v1/deliveries/${d.id}/logs.csv${qs(filters)}`} download={`delivery-${d.id}-logs.csv`} data-testid="logs-csv">
          Export CSV
        </a>
      </form>
      <ErrorBanner error={error} />
      <ErrorBanner error={lookupError} />
      {data && !data.logs.length ? (
        <Empty>{d.kpis.targeted ? 'No log matches these filters.' : empty}</Empty>
      ) : (
        <table className={`grid logs fixed ${dim ? 'loading' : ''}`} aria-busy={dim}>
          <thead>
            <tr>
              <th className="w-addr-logs">Address</th>
              <th className="w-status-logs">Status</th>
              <th className="w-failure-logs">Failure</th>
              <th className="num w-tries">Tries</th>
              <th>Last reply</th>
              <th className="w-when">Next try</th>
              <th className="w-when">Updated</th>
            </tr>
          </thead>
          <tbody>
            {data?.logs.map((l) => (
              <tr key={l.id} data-log={l.id}>
                <td className="addr" title={l.address}>
                  <a href={`${base}/${l.id}${qs(filters)}`} onClick={(e) => { e.preventDefault(); open(l.id); }} className="mono">
                    {l.address || <em className="muted">(no address)</em>}
                  </a>
                </td>
                <td className="wrap">
                  <StatusBadge status={l.status} label={l.statusLabel} />
                  {l.complainedAt && <span className="badge tone-red flag-badge" title={`complaint ${when(l.complainedAt)}`} data-flag="complaint">Complaint</span>}
                  {l.autoReplies > 0 && <span className="badge tone-violet flag-badge" title="an automatic reply came back (out of office…)" data-flag="auto-reply">Auto-reply</span>}
                </td>
                <td className="small" title={l.failureType ? `${l.failureType} · ${l.failureReason ?? 'Not defined'}` : undefined}>{l.failureType ? `${l.failureType} · ${l.failureReason ?? 'Not defined'}` : ''}</td>
                <td className="num">{n(l.attempts)}</td>
                <td className="reply mono small" title={l.reply ?? ''}>
                  {l.reply ?? ''}
                </td>
                <td className="small" data-col="next-attempt">{l.nextAttemptAt ? when(l.nextAttemptAt) : ''}</td>
                <td className="small">{when(l.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="table-foot">
        <span className="muted small" data-testid="logs-total">
          {data ? `${n(data.total)} log${data.total === 1 ? '' : 's'} match` : ''}
          {data && data.total > PAGE ? ` · page ${n(page)}, rows ${n((page - 1) * PAGE + (data.logs.length ? 1 : 0))}–${n((page - 1) * PAGE + data.logs.length)}` : ''}
        </span>
        <button type="button" disabled={page === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Previous
        </button>
        <button type="button" disabled={!data?.next} onClick={() => data?.next && setCursors((c) => [...c, data.next!])}>
          Next
        </button>
      </div>
      {logId !== undefined && <LogDetail id={logId} onClose={() => navigate(`${base}${qs(filters)}`)} />}
    </Card>
  );
}
