// The quarantine: addresses with their status, reason, error count and last error; filters;
// release one address, or every address of a domain changed within a time window (after a
// provider outage), with a confirmation that says how many will be released.
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, get, post, qs } from '../api.ts';
import { Card, Dialog, Empty, ErrorBanner, Kpi, Notice } from '../components/ui.tsx';
import { n, when } from '../format.ts';
import { useLoad } from '../live.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { BulkRelease as Released, QuarantinePage as Page, QuarantineStats } from '../types.ts';

const STATUSES: [string, string][] = [['', 'Any status'], ['quarantine', 'Quarantine'], ['with-errors', 'With errors'], ['denylisted', 'Denylisted'], ['suspected', 'Suspected (held)'], ['valid', 'Valid']];
const PAGE = 100;
const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);

export function QuarantinePage() {
  const { can } = useSession();
  const [f, setF] = useState({ status: '', domain: '', reason: '', from: '', to: '', q: '' });
  const [applied, setApplied] = useState(f);
  const [cursors, setCursors] = useState<string[]>(['']);
  const [message, setMessage] = useState<string | null>(null);
  const after = cursors[cursors.length - 1];
  const list = useLoad(() => get<Page>(`/quarantine${qs({ ...applied, from: iso(applied.from), to: iso(applied.to), after, limit: PAGE })}`), [JSON.stringify(applied), after]);
  const stats = useLoad(() => get<QuarantineStats>('/quarantine/stats'), [list.data]);
  const unavailable = list.error instanceof ApiError && list.error.status === 404;

  const release = async (address: string) => {
    setMessage(null);
    try {
      await post('/quarantine/release', { address });
      setMessage(`${address} released: it is valid again.`);
      list.reload();
    } catch (e) {
      setMessage((e as Error).message);
    }
  };

  if (unavailable) {
    return (
      <div className="page">
        <h1>Quarantine</h1>
        <Notice>The quarantine API is not available in this version of Estafeta.</Notice>
      </div>
    );
  }
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setCursors(['']);
    setApplied(f);
  };
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Quarantine</h1>
          <p className="muted">Addresses excluded from deliveries after errors, and those on the denylist.</p>
        </div>
      </header>
      {stats.data && (
        <div className="kpis compact">
          {Object.entries(stats.data).map(([k, v]) => (
            <Kpi key={k} label={(k[0]?.toUpperCase() ?? '') + k.slice(1).replace(/-/g, ' ')} value={n(v)} />
          ))}
        </div>
      )}
      {can('operator') && <BulkRelease onDone={(text) => { setMessage(text); list.reload(); }} />}
      {message && <Notice>{message}</Notice>}
      <Card>
        <form className="filters" role="search" onSubmit={apply}>
          <label>
            Address
            <input type="search" name="q" value={f.q} onChange={set('q')} placeholder="part of an address" />
          </label>
          <label>
            Status
            <select name="status" value={f.status} onChange={set('status')}>
              {STATUSES.map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          <label>
            Domain
            <input name="domain" value={f.domain} onChange={set('domain')} placeholder="example.com" />
          </label>
          <label>
            Reason
            <input name="reason" value={f.reason} onChange={set('reason')} placeholder="User unknown" />
          </label>
          <label>
            Changed from
            <input type="datetime-local" name="from" value={f.from} onChange={set('from')} />
          </label>
          <label>
            to
            <input type="datetime-local" name="to" value={f.to} onChange={set('to')} />
          </label>
          <button type="submit">Filter</button>
        </form>
        <ErrorBanner error={list.error} />
        {list.data && !list.data.entries.length ? (
          <Empty>No address matches.</Empty>
        ) : (
          <table className="grid fixed" data-table="quarantine">
            <thead>
              <tr>
                <th className="w-addr">Address</th>
                <th className="w-badge">Status</th>
                <th className="w-failure">Reason</th>
                <th className="num w-num">Errors</th>
                <th className="w-date">Last error</th>
                <th>Error text</th>
                <th className="w-small">Delivery</th>
                {can('operator') && <th className="w-action">Action</th>}
              </tr>
            </thead>
            <tbody>
              {list.data?.entries.map((q) => (
                <tr key={q.address} data-address={q.address}>
                  <td className="mono addr" title={q.address}>{q.address}</td>
                  <td>
                    <span className={`badge tone-${q.status === 'valid' ? 'green' : q.status === 'with-errors' || q.status === 'suspected' ? 'amber' : 'red'}`}>{q.statusLabel}</span>
                  </td>
                  <td className="nowrap small">{q.failureReason ?? ''}{q.failureType ? <span className="tag">{q.failureType}</span> : null}</td>
                  <td className="num">{n(q.errorCount)}</td>
                  <td className="nowrap small">{when(q.lastErrorAt)}</td>
                  <td className="reply mono small" title={q.errorText ?? ''}>{q.errorText ?? ''}</td>
                  <td>{q.deliveryId ? <Link to={`/deliveries/${q.deliveryId}`}>#{q.deliveryId}</Link> : ''}</td>
                  {can('operator') && (
                    <td>
                      {q.status !== 'valid' && (
                        <button type="button" onClick={() => release(q.address)} aria-label={`Release ${q.address}`}>
                          Release
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <div className="table-foot">
          <button type="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Previous
          </button>
          <button type="button" disabled={!list.data?.next} onClick={() => list.data?.next && setCursors((c) => [...c, list.data!.next!])}>
            Next
          </button>
        </div>
      </Card>
    </div>
  );
}

function BulkRelease({ onDone }: { onDone: (message: string) => void }) {
  const hourAgo = new Date(Date.now() - 3600_000 - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  const [f, setF] = useState({ domain: '', from: hourAgo, to: '' });
  const [count, setCount] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setCount(null), [f]);
  const body = (dryRun: boolean) => ({ domain: f.domain.trim(), from: iso(f.from), to: iso(f.to) ?? new Date().toISOString(), dryRun });
  const preview = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      setCount((await post<Released>('/quarantine/release-bulk', body(true))).count);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const confirm = async () => {
    try {
      const r = await post<Released>('/quarantine/release-bulk', body(false));
      setCount(null);
      onDone(`${n(r.count)} address(es) of ${f.domain} released.`);
    } catch (err) {
      setCount(null);
      setError((err as Error).message);
    }
  };
  return (
    <Card title="Bulk release after a provider outage">
      <form className="filters" onSubmit={preview}>
        <label>
          Domain
          <input name="bulk-domain" required value={f.domain} onChange={(e) => setF({ ...f, domain: e.target.value })} placeholder="provider.example" />
        </label>
        <label>
          Quarantined from
          <input type="datetime-local" name="bulk-from" required value={f.from} onChange={(e) => setF({ ...f, from: e.target.value })} />
        </label>
        <label>
          to (empty: now)
          <input type="datetime-local" name="bulk-to" value={f.to} onChange={(e) => setF({ ...f, to: e.target.value })} />
        </label>
        <button type="submit">Release…</button>
      </form>
      <ErrorBanner error={error} />
      <Dialog
        open={count !== null}
        title="Release addresses"
        onClose={() => setCount(null)}
        footer={
          <>
            <button type="button" onClick={() => setCount(null)}>Cancel</button>
            <button type="button" className="primary" disabled={!count} onClick={confirm} data-confirm="release-bulk">
              Release {n(count ?? 0)}
            </button>
          </>
        }
      >
        <p>
          <strong>{n(count ?? 0)}</strong> quarantined address(es) of <strong>{f.domain}</strong> changed in this window will become valid again and be targeted by the next deliveries.
        </p>
      </Dialog>
    </Card>
  );
}
