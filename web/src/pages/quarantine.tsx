// The quarantine: by default the addresses deliveries leave out (Quarantine, Denylisted and
// the held Suspected ones), newest error first; the status cards filter when clicked; the
// filters live in the URL so a view can be shared or linked (a log's detail links here);
// release one address, or open the bulk release (every address of a domain changed within a
// time window, after a provider outage) with a confirmation that says how many first. An
// address opens its entry with its audit trail (quarantine-entry.tsx; ?entry= in the URL).
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, get, post, qs } from '../api.ts';
import { Card, Dialog, Empty, ErrorBanner, Notice } from '../components/ui.tsx';
import { n, when } from '../format.ts';
import { useLoad } from '../live.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { BulkRelease as Released, QuarantinePage as Page, QuarantineStats } from '../types.ts';
import { isUnsubscription, QuarantineEntryDialog, statusTone } from './quarantine-entry.tsx';

/** The default view: what deliveries exclude, and what the outage guard holds. */
const EXCLUDED = 'quarantine,denylisted,suspected';
const STATUSES: [string, string][] = [
  [EXCLUDED, 'Quarantined or denylisted'],
  ['quarantine', 'Quarantine'],
  ['denylisted', 'Denylisted'],
  ['suspected', 'Suspected (held)'],
  ['with-errors', 'With errors'],
  ['valid', 'Valid'],
  ['all', 'Any status'],
];
const CARDS: [string, string, string][] = [
  ['quarantine', 'Quarantine', 'red'],
  ['denylisted', 'Denylisted', 'red'],
  ['suspected', 'Suspected (held)', 'amber'],
  ['with-errors', 'With errors', 'amber'],
  ['valid', 'Valid', 'green'],
];
const PAGE = 100;
const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);
const FIELDS = ['status', 'q', 'domain', 'reason', 'from', 'to'] as const;
type Filters = Record<(typeof FIELDS)[number], string>;

export function QuarantinePage() {
  const { can } = useSession();
  const { query } = useLocation();
  const applied: Filters = { status: query.get('status') ?? EXCLUDED, q: query.get('q') ?? '', domain: query.get('domain') ?? '', reason: query.get('reason') ?? '', from: query.get('from') ?? '', to: query.get('to') ?? '' };
  const key = JSON.stringify(applied);
  const [f, setF] = useState<Filters>(applied);
  useEffect(() => setF(applied), [key]); // eslint-disable-line react-hooks/exhaustive-deps
  const [cursors, setCursors] = useState<string[]>(['']);
  useEffect(() => setCursors(['']), [key]);
  const [message, setMessage] = useState<string | null>(null);
  const [bulkOpen, setBulkOpen] = useState(false);
  const after = cursors[cursors.length - 1];
  const status = applied.status === 'all' ? '' : applied.status;
  const list = useLoad(() => get<Page>(`/quarantine${qs({ ...applied, status, from: iso(applied.from), to: iso(applied.to), after, limit: PAGE, order: 'recent' })}`), [key, after]);
  const stats = useLoad(() => get<QuarantineStats>('/quarantine/stats'), [list.data]);
  const unavailable = list.error instanceof ApiError && list.error.status === 404;
  const show = (next: Partial<Filters>, entry?: string) => {
    const merged = { ...applied, ...next };
    navigate(`/quarantine${qs({ ...merged, status: merged.status === EXCLUDED ? '' : merged.status, entry })}`);
  };
  const entry = query.get('entry');
  const entryHref = (address: string) => `/quarantine${qs({ ...applied, status: applied.status === EXCLUDED ? '' : applied.status, entry: address })}`;

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
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const apply = (e: FormEvent) => {
    e.preventDefault();
    show(f);
  };
  const excludedTotal = stats.data ? (stats.data.quarantine ?? 0) + (stats.data.denylisted ?? 0) + (stats.data.suspected ?? 0) : 0;
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Quarantine</h1>
          <p className="muted">Addresses excluded from deliveries after errors, and those on the denylist. Newest error first.</p>
        </div>
        {can('operator') && (
          <div className="page-actions">
            <button type="button" onClick={() => setBulkOpen(true)}>
              Release in bulk…
            </button>
          </div>
        )}
      </header>
      {stats.data && (
        <div className="kpis compact status-cards" role="group" aria-label="Filter by status">
          <button type="button" className={`kpi kpi-button ${applied.status === EXCLUDED ? 'selected' : ''}`} aria-pressed={applied.status === EXCLUDED} onClick={() => show({ status: EXCLUDED })} data-card="excluded">
            <span className="kpi-label">Quarantined or denylisted</span>
            <span className="kpi-value">{n(excludedTotal)}</span>
          </button>
          {CARDS.map(([k, label, tone]) => (
            <button key={k} type="button" className={`kpi kpi-button tone-top-${tone} ${applied.status === k ? 'selected' : ''}`} aria-pressed={applied.status === k} onClick={() => show({ status: k })} data-card={k}>
              <span className="kpi-label">{label}</span>
              <span className="kpi-value">{n(stats.data![k] ?? 0)}</span>
            </button>
          ))}
        </div>
      )}
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
          <a className="button" href={`/api/v1/quarantine.csv${qs({ ...applied, status, from: iso(applied.from), to: iso(applied.to) })}`} download="quarantine.csv">
            Export CSV
          </a>
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
                <tr key={q.address} data-address={q.address} data-status={q.status}>
                  <td className="mono addr" title={`${q.address}: its status and history`}>
                    <Link to={entryHref(q.address)}>{q.address}</Link>
                  </td>
                  <td>
                    <span className={`badge tone-${statusTone(q.status)}`}>{q.statusLabel}</span>
                  </td>
                  <td className="small" title={q.failureType ? `${q.failureType} · ${q.failureReason ?? 'Not defined'}` : undefined} data-col="reason">
                    {isUnsubscription(q) ? <strong>Unsubscribed</strong> : q.status === 'denylisted' && /^complaint\b/i.test(q.errorText ?? '') ? <strong>Complaint (marked as spam)</strong> : q.failureType ? `${q.failureType} · ${q.failureReason ?? 'Not defined'}` : q.failureReason ?? ''}
                  </td>
                  <td className="num">{n(q.errorCount)}</td>
                  <td className="small" data-col="last-error">{when(q.lastErrorAt ?? q.updatedAt)}</td>
                  <td className="reply mono small" title={q.errorText ?? ''}>{q.errorText ?? ''}</td>
                  <td>{q.deliveryId ? <Link to={`/deliveries/${q.deliveryId}`}>#{q.deliveryId}</Link> : ''}</td>
                  {can('operator') && (
                    <td>
                      {q.status !== 'valid' && (
                        <button type="button" onClick={() => release(q.address)} aria-label={`Release ${q.address}${isUnsubscription(q) ? ' (lifts the unsubscription)' : ''}`} title={isUnsubscription(q) ? 'Lifts the unsubscription: later deliveries target the address again' : undefined}>
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
      {entry && (
        <QuarantineEntryDialog
          address={entry}
          onClose={() => show({})}
          onReleased={(text) => {
            setMessage(text);
            list.reload();
          }}
        />
      )}
      {can('operator') && (
        <BulkRelease
          open={bulkOpen}
          onClose={() => setBulkOpen(false)}
          onDone={(text) => {
            setBulkOpen(false);
            setMessage(text);
            list.reload();
          }}
        />
      )}
    </div>
  );
}

/** The bulk release: a form in a dialog, then how many addresses it would release, then release. */
function BulkRelease({ open, onClose, onDone }: { open: boolean; onClose: () => void; onDone: (message: string) => void }) {
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
    <Dialog
      open={open}
      title="Release addresses"
      onClose={() => {
        setCount(null);
        onClose();
      }}
      footer={
        <>
          <button type="button" onClick={onClose}>Cancel</button>
          {count === null ? (
            <button type="submit" form="bulk-release" className="primary">
              Count…
            </button>
          ) : (
            <button type="button" className="primary" disabled={!count} onClick={confirm} data-confirm="release-bulk">
              Release {n(count)}
            </button>
          )}
        </>
      }
    >
      <p className="small muted">After a provider outage: every quarantined address of one domain that changed within the window becomes valid again.</p>
      <form id="bulk-release" className="form-grid" onSubmit={preview}>
        <label className="span2">
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
      </form>
      <ErrorBanner error={error} />
      {count !== null && (
        <p data-testid="bulk-count">
          <strong>{n(count)}</strong> quarantined address(es) of <strong>{f.domain}</strong> changed in this window will become valid again and be targeted by the next deliveries.
        </p>
      )}
    </Dialog>
  );
}
