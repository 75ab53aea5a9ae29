// A delivery's dashboard: its state and actions, and tabs for the live overview (KPIs,
// throughput, engagement, failures), the tracked links and their clicks, the analysis
// report, the delivery logs and the audit trail. State and KPIs come from the delivery's
// event stream, so they change on screen as they happen.
import { useCallback, useEffect, useRef, useState } from 'react';
import { get } from '../api.ts';
import { DeliveryActions } from '../components/delivery-actions.tsx';
import { ErrorBanner, StateBadge, Tabs } from '../components/ui.tsx';
import { duration, when } from '../format.ts';
import { useEventStream } from '../live.ts';
import { Link, navigate } from '../router.tsx';
import type { DeliveryDetail, DeliveryStreamEvent } from '../types.ts';
import { Overview } from './delivery-overview.tsx';
import { AnalysisTab } from './delivery-analysis.tsx';
import { LogsTab } from './delivery-logs.tsx';
import { AuditTab } from './delivery-audit.tsx';
import { LinksTab } from './delivery-links.tsx';

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'links', label: 'Links' },
  { id: 'analysis', label: 'Analysis' },
  { id: 'logs', label: 'Delivery logs' },
  { id: 'audit', label: 'Audit' },
];

/** Errors of the analysis of the current content (a stale analysis says nothing). */
export const currentAnalysisErrors = (d: DeliveryDetail) => (d.analysis && d.analyzedVersion === d.contentVersion ? d.analysis.errors : null);

export function DeliveryPage({ id, tab, logId }: { id: number; tab: string; logId?: number }) {
  const [d, setD] = useState<DeliveryDetail | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const lastState = useRef<string | null>(null);

  const load = useCallback(() => {
    get<DeliveryDetail>(`/deliveries/${id}`).then(
      (x) => {
        setD(x);
        lastState.current = x.state;
        setError(null);
      },
      (e: Error) => setError(e),
    );
  }, [id]);
  useEffect(load, [load]);

  const { connected } = useEventStream<DeliveryStreamEvent>(d ? `/api/v1/deliveries/${id}/stream` : null, 'delivery', (m) => {
    setD((old) => (old ? { ...old, ...m.delivery, kpis: m.kpis, analysisProgress: m.analysisProgress } : old));
    // A new state may come with a new analysis report or target: fetch what the stream does not carry.
    if (lastState.current !== m.delivery.state) load();
    lastState.current = m.delivery.state;
  });

  if (error && !d) return <div className="page"><ErrorBanner error={error} /><Link to="/deliveries">Back to the deliveries</Link></div>;
  if (!d) return <div className="page muted">Loading…</div>;
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <p className="crumbs">
            <Link to="/deliveries">Deliveries</Link> / #{d.id}
          </p>
          <h1>
            {d.label || `Delivery ${d.id}`} <StateBadge state={d.state} label={d.stateLabel} />
          </h1>
          <p className="meta">
            <span>From {d.from.name ? `${d.from.name} <${d.from.address}>` : d.from.address}</span>
            <span>Subject “{d.subject}”</span>
            <span>Created {when(d.createdAt)}</span>
            {d.startedAt && <span>Started {when(d.startedAt)}</span>}
            {d.finishedAt && <span>Finished {when(d.finishedAt)}</span>}
            <span>Validity {duration(d.validitySeconds * 1000)}</span>
            <span data-testid="tracking-meta">{d.tracking ? `Opens and clicks tracked${d.trackTextLinks ? ', text links too' : ''}` : 'Opens and clicks not tracked'}</span>
            <span className={`live ${connected ? 'on' : ''}`}>{connected ? 'live' : 'connecting…'}</span>
          </p>
        </div>
        <DeliveryActions id={d.id} label={d.label} state={d.state} kpis={d.kpis} analysisErrors={currentAnalysisErrors(d)} />
      </header>
      {d.lastError && <ErrorBanner error={d.lastError} />}
      <Tabs tabs={TABS} current={tab} onSelect={(t) => navigate(t === 'overview' ? `/deliveries/${id}` : `/deliveries/${id}/${t}`)} />
      <div role="tabpanel" aria-labelledby={`tab-${tab}`} className="tabpanel">
        {tab === 'overview' && <Overview d={d} />}
        {tab === 'links' && <LinksTab d={d} />}
        {tab === 'analysis' && <AnalysisTab d={d} />}
        {tab === 'logs' && <LogsTab d={d} logId={logId} />}
        {tab === 'audit' && <AuditTab id={id} state={d.state} />}
      </div>
    </div>
  );
}
