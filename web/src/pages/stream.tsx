// A message stream's dashboard, in the style of a delivery's: its state (pause, resume),
// sender domains and validity, and tabs for the live overview over a window (KPIs,
// throughput, failures by reason), its delivery logs (the delivery logs list, searched by
// address and Message-ID), its settings and its SMTP credentials (admins). The state and
// figures since creation come from the delivery event stream (a stream is a delivery row),
// which tells the overview and the logs when to read again.
import { useCallback, useEffect, useState } from 'react';
import { get, post, qs } from '../api.ts';
import { ErrorBanner, StateBadge, Tabs } from '../components/ui.tsx';
import { duration, when } from '../format.ts';
import { useEventStream } from '../live.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { DeliveryStreamEvent, Kpis, Stream } from '../types.ts';
import { LogsTab } from './delivery-logs.tsx';
import { StreamOverview } from './stream-overview.tsx';
import { StreamSettings } from './stream-settings.tsx';
import { StreamCredentials } from './stream-credentials.tsx';
import { windowOf } from './streams.tsx';

export function StreamPage({ id, tab, logId }: { id: number; tab: string; logId?: number }) {
  const { can } = useSession();
  const { query } = useLocation();
  const win = windowOf(query);
  const [s, setS] = useState<Stream | null>(null);
  const [kpis, setKpis] = useState<Kpis | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [acting, setActing] = useState(false);
  const load = useCallback(() => {
    get<Stream>(`/streams/${id}`).then((x) => {
      setS(x);
      setError(null);
    }, setError);
  }, [id]);
  useEffect(load, [load]);
  const { connected } = useEventStream<DeliveryStreamEvent>(s ? `/api/v1/deliveries/${id}/stream` : null, 'delivery', (m) => {
    setKpis(m.kpis);
    setS((old) => (old && old.state !== m.delivery.state ? { ...old, state: m.delivery.state, stateLabel: m.delivery.stateLabel } : old));
  });

  if (error && !s) return <div className="page"><ErrorBanner error={error} /><Link to="/streams">Back to the streams</Link></div>;
  if (!s) return <div className="page muted">Loading…</div>;
  const tabs = [
    { id: 'overview', label: 'Overview' },
    { id: 'logs', label: 'Delivery logs' },
    { id: 'settings', label: 'Settings' },
    ...(can('admin') ? [{ id: 'credentials', label: 'SMTP credentials' }] : []),
  ];
  const act = (action: 'pause' | 'resume') => {
    setActing(true);
    post<Stream>(`/streams/${id}/${action}`).then((x) => {
      setS(x);
      setError(null);
    }, setError).finally(() => setActing(false));
  };
  const w = win === '24h' ? '' : win;
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <p className="crumbs">
            <Link to="/streams">Streams</Link> / #{s.id}
          </p>
          <h1>
            {s.name} <StateBadge state={s.state} label={s.stateLabel} />
          </h1>
          <p className="meta">
            <span>From {s.fromDomains.join(', ')}</span>
            <span>IP pool {s.ipPool ?? 'default'}</span>
            <span>Validity {duration(s.validitySeconds * 1000)}</span>
            <span>{s.tracking ? 'Opens and clicks tracked' : 'Opens and clicks not tracked'}</span>
            <span>{s.applyQuarantine ? 'Quarantine and denylist apply' : 'Quarantine and denylist do not apply'}</span>
            <span>Created {when(s.createdAt)}</span>
            <span className={`live ${connected ? 'on' : ''}`}>{connected ? 'live' : 'connecting…'}</span>
          </p>
        </div>
        {can('operator') && (
          <div className="actions">
            {s.state === 'in-progress' ? (
              <button type="button" data-action="pause" disabled={acting} onClick={() => act('pause')} title="Messages already in the MTA are held; new ones are refused until it resumes">
                Pause
              </button>
            ) : (
              <button type="button" className="primary" data-action="resume" disabled={acting} onClick={() => act('resume')}>
                Resume
              </button>
            )}
          </div>
        )}
      </header>
      <ErrorBanner error={error && s ? error : null} />
      <Tabs tabs={tabs} current={tab} onSelect={(t) => navigate(`${t === 'overview' ? `/streams/${id}` : `/streams/${id}/${t}`}${qs({ window: w })}`)} />
      <div role="tabpanel" aria-labelledby={`tab-${tab}`} className="tabpanel">
        {tab === 'overview' && <StreamOverview id={id} win={win} live={kpis} />}
        {tab === 'logs' && (
          <LogsTab
            d={{ id, state: s.state, kpis: kpis ?? { processed: 0, takenIntoAccount: 0, complaints: 0, softBouncesPendingRetry: 0, failuresByReason: {}, targeted: 0 } }}
            logId={logId}
            base={`/streams/${id}/logs`}
            apiPath={`/streams/${id}/logs`}
            empty="No message yet: send one through the API (POST /api/v1/messages) or SMTP submission."
          />
        )}
        {tab === 'settings' && <StreamSettings s={s} onSaved={setS} />}
        {tab === 'credentials' && can('admin') && <StreamCredentials s={s} />}
      </div>
    </div>
  );
}
