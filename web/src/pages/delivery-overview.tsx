// The overview tab: the seed's KPIs, the progress bar, messages per minute, and failures by
// type and reason and by recipient domain (Campaign's "non-deliverables and bounces").
// The chart and tables refetch when the processed count moves, at most every 3 seconds.
import { useEffect, useRef, useState } from 'react';
import { get } from '../api.ts';
import { BarList } from '../components/bar-list.tsx';
import { RichText } from '../components/rich-text.tsx';
import { ThroughputChart, type Point } from '../components/throughput-chart.tsx';
import { Card, Empty, Kpi, ProgressBar } from '../components/ui.tsx';
import { n, pct } from '../format.ts';
import { Link } from '../router.tsx';
import type { DeliveryDetail, Failures, Throughput } from '../types.ts';

/**
 * Recipients the analysis could not personalize become Failed logs at analysis: they are not
 * sending failures. While the analysis of the current content reports errors, the overview
 * shows them as analysis errors and leaves them out of Processed and Failed.
 */
function analysisFailures(d: DeliveryDetail): number {
  const a = d.analysis;
  if (!a || d.analyzedVersion !== d.contentVersion || !a.errors || d.startedAt) return 0;
  return Math.min(a.counts.personalizationErrors, d.kpis.failed);
}

export function Overview({ d }: { d: DeliveryDetail }) {
  const atAnalysis = analysisFailures(d);
  const k = atAnalysis ? { ...d.kpis, failed: d.kpis.failed - atAnalysis, processed: d.kpis.processed - atAnalysis } : d.kpis;
  const errorLines = d.analysis && d.analyzedVersion === d.contentVersion ? d.analysis.lines.filter((l) => l.level === 'error') : [];
  const [points, setPoints] = useState<Point[]>([]);
  const [failures, setFailures] = useState<Failures | null>(null);
  const lastFetch = useRef(0);
  const version = `${k.processed}:${k.failed}:${k.softBouncesPendingRetry}`;

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout>;
    const fetchAll = () => {
      lastFetch.current = Date.now();
      get<Throughput>(`/deliveries/${d.id}/throughput`).then((r) => setPoints(r.points), () => {});
      get<Failures>(`/deliveries/${d.id}/failures`).then(setFailures, () => {});
    };
    const wait = 3000 - (Date.now() - lastFetch.current);
    if (wait <= 0) fetchAll();
    else timer = setTimeout(fetchAll, wait);
    return () => clearTimeout(timer);
  }, [d.id, version]);

  return (
    <>
      {errorLines.length > 0 && (
        <div className="banner error" role="alert" data-testid="analysis-errors">
          <strong>
            The analysis found {n(errorLines.length)} error{errorLines.length === 1 ? '' : 's'}: confirmation is blocked until {errorLines.length === 1 ? 'it is' : 'they are'} fixed and the delivery analyzed again.
          </strong>
          <ul className="error-lines">
            {errorLines.map((l, i) => (
              <li key={i}>
                <RichText text={l.message} />
              </li>
            ))}
          </ul>
          <Link to={`/deliveries/${d.id}/analysis`}>See the analysis report</Link>
        </div>
      )}
      <div className="kpis" aria-label="Key figures">
        <Kpi id="toDeliver" label="To deliver" value={n(k.toDeliver)} hint={`${n(k.targeted)} targeted, ${n(k.excluded)} excluded`} />
        <Kpi id="processed" label="Processed" value={n(k.processed)} hint="sent + failed" />
        <Kpi id="takenIntoAccount" label="Taken into account" value={n(k.takenIntoAccount)} hint="relayed to the MTA, outcome pending" />
        <Kpi id="sent" label="Sent" value={n(k.sent)} tone="sent" />
        <Kpi id="failed" label="Failed" value={n(k.failed)} tone="failed" hint={pct(k.toDeliver ? Math.round((k.failed / k.toDeliver) * 10000) / 100 : 0) + ' of to deliver'} />
        <Kpi id="success" label="Success" value={pct(k.successPercent)} tone="success" hint="sent ÷ to deliver" />
        <Kpi id="soft" label="Soft bounces pending retry" value={n(k.softBouncesPendingRetry)} />
        <Kpi id="quarantined" label="Quarantined by this delivery" value={n(k.quarantined)} />
        <Kpi id="complaints" label="Complaints" value={n(k.complaints)} />
        {atAnalysis > 0 && <Kpi id="analysisErrors" label="Analysis errors" value={n(atAnalysis)} tone="failed" hint="recipients the analysis could not personalize: not sent, not counted as failed" />}
      </div>
      <Card title="Progress">
        <ProgressBar kpis={k} />
      </Card>
      <Card title="Throughput" actions={<span className="legend"><span><i className="dot sent" />Sent</span><span><i className="dot failed" />Failed</span><span className="muted">messages per minute</span></span>}>
        {points.length ? <ThroughputChart points={points} /> : <Empty>No message has reached a final status yet.</Empty>}
      </Card>
      <div className="two-col">
        <Card title="Failures by type and reason">
          {atAnalysis > 0 && !k.failed ? (
            <Empty>No sending failure. The recipients the analysis could not personalize are in the analysis report.</Empty>
          ) : failures?.byReason.length ? (
            <BarList
              rows={failures.byReason.map((r) => ({ key: `${r.failureType}-${r.failureReason}`, label: r.failureReason, tag: r.failureType, value: r.count, note: `${r.percentOfFailures} % of failures` }))}
              tone="failed"
            />
          ) : (
            <Empty>No failure.</Empty>
          )}
        </Card>
        <Card title="Failures by domain">
          {failures?.byDomain.length ? (
            <BarList rows={failures.byDomain.map((r) => ({ key: r.domain, label: r.domain, value: r.failed, note: `${r.percentOfProcessed} % of ${n(r.processed)} processed` }))} tone="failed" />
          ) : (
            <Empty>No failure.</Empty>
          )}
        </Card>
      </div>
    </>
  );
}
