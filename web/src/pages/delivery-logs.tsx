// The delivery logs: one row per recipient, searched by address and filtered by status,
// failure type, reason and domain, paged by keyset (each page is an index range on the
// server, so the hundredth page of a million rows costs what the first does).
import { useEffect, useState } from 'react';
import { get, qs } from '../api.ts';
import { Card, Empty, ErrorBanner, StatusBadge } from '../components/ui.tsx';
import { n, when } from '../format.ts';
import { useLoad } from '../live.ts';
import { navigate } from '../router.tsx';
import type { DeliveryDetail, LogPage } from '../types.ts';
import { LogDetail } from './log-detail.tsx';

const STATUSES: [string, string][] = [['', 'Any status'], ['pending', 'Pending'], ['taken', 'Taken into account'], ['sent', 'Sent'], ['failed', 'Failed'], ['ignored', 'Ignored'], ['cancelled', 'Delivery cancelled']];
const TYPES = ['Hard', 'Soft', 'Ignored', 'Not defined'];
const REASONS = ['User unknown', 'Invalid domain', 'Unreachable', 'Account disabled', 'Mailbox full', 'Not connected', 'Refused', 'Address not specified', 'Bad-quality address', 'Denylisted address', 'Address in quarantine', 'Double', 'Error ignored', 'Not defined'];
const PAGE = 50;

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function LogsTab({ d, logId }: { d: DeliveryDetail; logId?: number }) {
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const [failureType, setFailureType] = useState('');
  const [failureReason, setFailureReason] = useState('');
  const [domain, setDomain] = useState('');
  const [cursors, setCursors] = useState<number[]>([0]);
  const q = useDebounced(search.trim(), 300);
  const dom = useDebounced(domain.trim(), 300);
  const filters = { status, failureType, failureReason, domain: dom, q };
  const key = JSON.stringify(filters);
  useEffect(() => setCursors([0]), [key]);
  const after = cursors[cursors.length - 1];
  const { data, error, loading, reload } = useLoad(() => get<LogPage>(`/deliveries/${d.id}/logs${qs({ ...filters, after: after || undefined, limit: PAGE })}`), [d.id, key, after]);
  const page = cursors.length;
  const reasons = [...new Set([...Object.keys(d.kpis.failuresByReason), ...REASONS])];

  return (
    <Card>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Address
          <input type="search" name="q" placeholder="Search an address" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
        <label>
          Status
          <select name="status" value={status} onChange={(e) => setStatus(e.target.value)}>
            {STATUSES.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label>
          Failure type
          <select name="failureType" value={failureType} onChange={(e) => setFailureType(e.target.value)}>
            <option value="">Any type</option>
            {TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Failure reason
          <select name="failureReason" value={failureReason} onChange={(e) => setFailureReason(e.target.value)}>
            <option value="">Any reason</option>
            {reasons.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Domain
          <input name="domain" placeholder="example.com" value={domain} onChange={(e) => setDomain(e.target.value)} />
        </label>
        <button type="button" onClick={reload} disabled={loading}>
          Refresh
        </button>
      </form>
      <ErrorBanner error={error} />
      {data && !data.logs.length ? (
        <Empty>{d.kpis.targeted ? 'No log matches these filters.' : 'No delivery log yet: logs are written by the analysis.'}</Empty>
      ) : (
        <table className={`grid logs fixed ${loading ? 'loading' : ''}`} aria-busy={loading}>
          <thead>
            <tr>
              <th className="w-addr">Address</th>
              <th className="w-status">Status</th>
              <th className="w-failure">Failure</th>
              <th className="num w-count">Attempts</th>
              <th>Last reply</th>
              <th className="w-date">Updated</th>
            </tr>
          </thead>
          <tbody>
            {data?.logs.map((l) => (
              <tr key={l.id} data-log={l.id}>
                <td className="addr" title={l.address}>
                  <a href={`/deliveries/${d.id}/logs/${l.id}`} onClick={(e) => { e.preventDefault(); navigate(`/deliveries/${d.id}/logs/${l.id}`); }} className="mono">
                    {l.address || <em className="muted">(no address)</em>}
                  </a>
                </td>
                <td className="nowrap">
                  <StatusBadge status={l.status} label={l.statusLabel} />
                </td>
                <td className="nowrap small">{l.failureType ? `${l.failureType} · ${l.failureReason ?? 'Not defined'}` : ''}</td>
                <td className="num">{n(l.attempts)}</td>
                <td className="reply mono small" title={l.reply ?? ''}>
                  {l.reply ?? ''}
                </td>
                <td className="nowrap small">{when(l.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="table-foot">
        <span className="muted small">
          Page {page}
          {data ? ` · rows ${n((page - 1) * PAGE + (data.logs.length ? 1 : 0))}–${n((page - 1) * PAGE + data.logs.length)}` : ''}
        </span>
        <button type="button" disabled={page === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Previous
        </button>
        <button type="button" disabled={!data?.next} onClick={() => data?.next && setCursors((c) => [...c, data.next!])}>
          Next
        </button>
      </div>
      {logId !== undefined && <LogDetail id={logId} onClose={() => navigate(`/deliveries/${d.id}/logs`)} />}
    </Card>
  );
}
