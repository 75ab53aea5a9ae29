// A stream's overview over its window: the KPIs of the messages written in it (delivered and
// bounced shares, hard bounces, complaints, opens), the throughput with every bucket of the
// window (empty ones too, so a quiet hour shows as quiet), and failures by type and reason,
// with the delivery's chart and bar list. Reads again when the live figures move (at most
// every 3 s) and every 15 s, since the window slides even when nothing is sent.
import { useEffect, useRef, useState } from 'react';
import { get, qs } from '../api.ts';
import { BarList } from '../components/bar-list.tsx';
import { ThroughputChart } from '../components/throughput-chart.tsx';
import { Card, Empty, ErrorBanner, Kpi } from '../components/ui.tsx';
import { WindowPicker } from '../components/window-picker.tsx';
import { n, pct, relative, when } from '../format.ts';
import { navigate } from '../router.tsx';
import type { Kpis, StreamReport } from '../types.ts';
import { windowLabel } from './streams.tsx';

export function StreamOverview({ id, win, live }: { id: number; win: string; live: Kpis | null }) {
  const [report, setReport] = useState<StreamReport | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [tick, setTick] = useState(0);
  const lastFetch = useRef(0);
  const moved = live ? `${live.processed}:${live.takenIntoAccount}:${live.complaints}:${live.targeted}:${live.uniqueOpens}` : '';

  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), 15_000);
    return () => clearInterval(timer);
  }, []);
  useEffect(() => {
    const fetchReport = () => {
      lastFetch.current = Date.now();
      get<StreamReport>(`/streams/${id}/report${qs({ since: win })}`).then((r) => {
        setReport(r);
        setError(null);
      }, setError);
    };
    const wait = 3000 - (Date.now() - lastFetch.current);
    if (wait <= 0) {
      fetchReport();
      return;
    }
    const timer = setTimeout(fetchReport, wait);
    return () => clearTimeout(timer);
  }, [id, win, moved, tick]);

  const k = report?.kpis;
  const t = report?.throughput;
  return (
    <>
      <div className="card-head">
        <p className="meta small">
          <span>Messages written in the {windowLabel(win)}, by their status now</span>
          {k && <span data-testid="last-message">{k.lastMessageAt ? `last message ${relative(k.lastMessageAt)} (${when(k.lastMessageAt)})` : 'no message yet'}</span>}
        </p>
        <WindowPicker value={win} onChange={(w) => navigate(`/streams/${id}${qs({ window: w === '24h' ? '' : w })}`, true)} />
      </div>
      <ErrorBanner error={error} />
      {k && (
        <div className="kpis" aria-label="Key figures">
          <Kpi id="messages" label="Messages" value={n(k.messages)} hint="one per recipient" />
          <Kpi id="waiting" label="Waiting" value={n(k.waiting)} hint="pending or taken into account: no outcome yet" />
          <Kpi id="sent" label="Delivered" value={n(k.sent)} tone="sent" hint={`${pct(k.deliveredPercent)} of messages`} />
          <Kpi id="failed" label="Bounced" value={n(k.failed)} tone="failed" hint={`${pct(k.bouncedPercent)} of messages; ${n(k.hardBounces)} hard, ${n(k.softBounces)} soft`} />
          <Kpi id="delivered" label="Delivered %" value={pct(k.deliveredPercent)} tone="success" hint="delivered ÷ messages" />
          <Kpi id="ignored" label="Refused at sending" value={n(k.ignored)} hint="quarantined or denylisted recipients" />
          <Kpi id="complaints" label="Complaints" value={n(k.complaints)} />
          <Kpi id="opened" label="Opened" value={n(k.opened)} hint={`${n(k.clicked)} clicked`} />
        </div>
      )}
      <Card
        title="Throughput"
        actions={
          <span className="legend">
            <span>
              <i className="dot sent" />
              Sent
            </span>
            <span>
              <i className="dot failed" />
              Failed
            </span>
          </span>
        }
      >
        {t && t.points.some((p) => p.sent || p.failed) ? <ThroughputChart points={t.points} bucketSeconds={t.bucketSeconds} /> : <Empty>No message reached a final status in the {windowLabel(win)}.</Empty>}
      </Card>
      <Card title="Failures by type and reason">
        {report?.failures.byReason.length ? (
          <BarList rows={report.failures.byReason.map((r) => ({ key: `${r.failureType}-${r.failureReason}`, label: r.failureReason, tag: r.failureType, value: r.count, note: `${r.percentOfFailures} % of failures` }))} tone="failed" />
        ) : (
          <Empty>No failure in the {windowLabel(win)}.</Empty>
        )}
      </Card>
    </>
  );
}
