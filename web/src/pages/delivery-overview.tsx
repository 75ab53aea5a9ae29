// The overview tab: the seed's KPIs, the progress bar, messages per minute, and failures by
// type and reason and by recipient domain (Campaign's "non-deliverables and bounces").
// The chart and tables refetch when the processed count moves, at most every 3 seconds.
import { useEffect, useRef, useState } from 'react';
import { get } from '../api.ts';
import { BarList } from '../components/bar-list.tsx';
import { ThroughputChart, type Point } from '../components/throughput-chart.tsx';
import { Card, Empty, Kpi, ProgressBar } from '../components/ui.tsx';
import { n, pct } from '../format.ts';
import type { DeliveryDetail, Failures, Throughput } from '../types.ts';

export function Overview({ d }: { d: DeliveryDetail }) {
  const k = d.kpis;
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
      <div className="kpis" aria-label="Key figures">
        <Kpi id="toDeliver" label="To deliver" value={n(k.toDeliver)} hint={`${n(k.targeted)} targeted, ${n(k.excluded)} excluded`} />
        <Kpi id="processed" label="Processed" value={n(k.processed)} hint="sent + failed" />
        <Kpi id="takenIntoAccount" label="Taken into account" value={n(k.takenIntoAccount)} hint="relayed to the MTA, outcome pending" />
        <Kpi id="sent" label="Sent" value={n(k.sent)} tone="sent" />
        <Kpi id="failed" label="Failed" value={n(k.failed)} tone="failed" hint={pct(k.failedPercent) + ' of to deliver'} />
        <Kpi id="success" label="Success" value={pct(k.successPercent)} tone="success" hint="sent ÷ to deliver" />
        <Kpi id="soft" label="Soft bounces pending retry" value={n(k.softBouncesPendingRetry)} />
        <Kpi id="quarantined" label="Quarantined by this delivery" value={n(k.quarantined)} />
        <Kpi id="complaints" label="Complaints" value={n(k.complaints)} />
      </div>
      <Card title="Progress">
        <ProgressBar kpis={k} />
      </Card>
      <Card title="Throughput" actions={<span className="legend"><span><i className="dot sent" />Sent</span><span><i className="dot failed" />Failed</span><span className="muted">messages per minute</span></span>}>
        {points.length ? <ThroughputChart points={points} /> : <Empty>No message has reached a final status yet.</Empty>}
      </Card>
      <div className="two-col">
        <Card title="Failures by type and reason">
          {failures?.byReason.length ? (
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
