// The deliveries list: state, progress, success, sent and failed, start time, and the
// actions each state allows. Rows update live from the list stream; a delivery created
// elsewhere (CLI, another user) appears without reloading.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { get, qs } from '../api.ts';
import { DeliveryActions } from '../components/delivery-actions.tsx';
import { Card, Empty, ErrorBanner, ProgressBar, StateBadge } from '../components/ui.tsx';
import { n, pct, pct2, ratePct, when } from '../format.ts';
import { COMPLAINT_RATE } from '../thresholds.ts';
import { useEventStream } from '../live.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { DeliveryList, DeliveryListChange, DeliveryListItem, DeliveryListStreamEvent } from '../types.ts';

const STATES: [string, string][] = [
  ['', 'All states'],
  ['being-edited,analyzing,pending-confirmation', 'Being prepared'],
  ['pending-confirmation', 'Pending confirmation'],
  ['start-pending,in-progress', 'Sending'],
  ['pause-requested,paused', 'Paused'],
  ['finished', 'Finished'],
  ['stop-requested,stopped', 'Stopped'],
  ['failed', 'Failed'],
];
const PAGE = 50;

/** A row with what the list stream says changed; the stream leaves kpis out for a delivery just deleted. */
const withChange = (d: DeliveryListItem, c: DeliveryListChange | undefined): DeliveryListItem =>
  c ? { ...d, ...c, updatedAt: c.updatedAt ?? d.updatedAt, kpis: c.kpis ?? d.kpis } : d;

export function DeliveriesPage() {
  const { query } = useLocation();
  const state = query.get('state') ?? '';
  const { can } = useSession();
  const [rows, setRows] = useState<DeliveryListItem[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [latest, setLatest] = useState(0);

  const load = useCallback(async () => {
    try {
      const r = await get<DeliveryList>(`/deliveries${qs({ state, limit: PAGE })}`);
      setRows(r.deliveries);
      setMore(r.deliveries.length === PAGE);
      setError(null);
    } catch (e) {
      setError(e as Error);
    } finally {
      setLoaded(true);
    }
  }, [state]);
  useEffect(() => {
    void load();
  }, [load]);

  const loadMore = async () => {
    const r = await get<DeliveryList>(`/deliveries${qs({ state, limit: PAGE, before: rows[rows.length - 1]?.id })}`);
    setRows((old) => [...old, ...r.deliveries]);
    setMore(r.deliveries.length === PAGE);
  };

  const ids = useMemo(() => rows.map((d) => d.id).slice(0, 200).join(','), [rows]);
  const { connected } = useEventStream<DeliveryListStreamEvent>(loaded ? `/api/v1/stream${qs({ deliveries: ids })}` : null, 'deliveries', (msg) => {
    // A row that just finished its analysis: its errors (which block Confirm) come with the list.
    if (msg.deliveries.some((c) => c.state === 'pending-confirmation' && rows.find((d) => d.id === c.id)?.state !== 'pending-confirmation')) void load();
    setRows((old) => old.map((d) => withChange(d, msg.deliveries.find((c) => c.id === d.id))));
    // A new delivery exists: fetch the first page again.
    if (latest && msg.latestId > latest) void load();
    setLatest(msg.latestId);
  });

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Deliveries</h1>
          <p className="muted">
            Newest first · <span className={`live ${connected ? 'on' : ''}`}>{connected ? 'live' : 'connecting…'}</span>
          </p>
        </div>
        <div className="page-actions">
          <label className="inline">
            State
            <select value={state} onChange={(e) => navigate(`/deliveries${qs({ state: e.target.value })}`)}>
              {STATES.map(([v, l]) => (
                <option key={l} value={v}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          {can('operator') && (
            <Link to="/deliveries/new" className="button primary">
              New delivery
            </Link>
          )}
        </div>
      </header>
      <ErrorBanner error={error} />
      <Card>
        {loaded && !rows.length ? (
          <Empty>{state ? 'No delivery in this state.' : 'No delivery yet. Create one, or use the CLI: estafeta deliveries create.'}</Empty>
        ) : (
          <table className="grid deliveries">
            <thead>
              <tr>
                <th>Delivery</th>
                <th>State</th>
                <th className="progress-col">Progress</th>
                <th className="num">Success</th>
                <th className="num">Sent</th>
                <th className="num">Failed</th>
                <th className="actions-col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => {
                const notSent = Boolean(d.analysisErrors) && !d.startedAt;
                return (
                  <tr key={d.id} data-delivery={d.id}>
                    <td className="label-cell">
                      <Link to={`/deliveries/${d.id}`} className="strong" title={d.label || undefined}>
                        {d.label || `Delivery ${d.id}`}
                      </Link>
                      <div className="small muted nowrap">
                        #{d.id} · {d.startedAt ? `started ${when(d.startedAt)}` : `created ${when(d.createdAt)}`}
                      </div>
                      {d.lastError && <div className="small error-text clip" title={d.lastError}>{d.lastError}</div>}
                    </td>
                    <td>
                      <StateBadge state={d.state} label={d.stateLabel} />
                      {ratePct(d.kpis.complaints, d.kpis.sent) > COMPLAINT_RATE.limit && (
                        <div>
                          <span className="badge tone-red flag-badge" data-col="complaint-alarm" title={`above ${COMPLAINT_RATE.limitSource} of ${COMPLAINT_RATE.limit} %`}>
                            ▲ Complaints {pct2(ratePct(d.kpis.complaints, d.kpis.sent))}
                          </span>
                        </div>
                      )}
                    </td>
                    <td>
                      {notSent ? (
                        <span className="badge tone-red" data-col="analysis-errors" title="Personalization or content errors found by the analysis block the confirmation">
                          Analysis: {n(d.analysisErrors)} error{d.analysisErrors === 1 ? '' : 's'}
                        </span>
                      ) : (
                        <>
                          <ProgressBar kpis={d.kpis} compact />
                          <div className="small muted nowrap" data-col="to-deliver">{n(d.kpis.processed)} of {n(d.kpis.toDeliver)} processed</div>
                        </>
                      )}
                    </td>
                    {/* Recipients the analysis could not personalize are not sending failures. */}
                    <td className="num strong" data-col="success">{notSent ? '–' : pct(d.kpis.successPercent)}</td>
                    <td className="num" data-col="sent">{notSent ? '–' : n(d.kpis.sent)}</td>
                    <td className="num" data-col="failed">{notSent ? '–' : n(d.kpis.failed)}</td>
                    <td className="actions-col">
                      <DeliveryActions id={d.id} label={d.label} state={d.state} kpis={d.kpis} analysisErrors={d.analysisErrors} compact />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {more && (
          <div className="table-foot">
            <button type="button" onClick={loadMore}>
              Load older deliveries
            </button>
          </div>
        )}
      </Card>
    </div>
  );
}
