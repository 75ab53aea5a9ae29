// The overview tab: the seed's KPIs, the progress bar, the complaint and hard-bounce rates
// against the providers' limits (a rate above a limit is a red banner at the top), the
// throughput in buckets that fit the delivery's length with the current rate and an
// estimated end, engagement (opens, clicks, unsubscriptions: delivery-engagement.tsx),
// failures by type and reason (Campaign's "non-deliverables and bounces"),
// and per recipient domain what was delivered, deferred and failed. The chart and tables
// refetch when the figures move, at most every 3 seconds, and every 15 s while sending (the
// per-domain table, which reads every log, only every 15 s).
import { useEffect, useRef, useState } from 'react';
import { get } from '../api.ts';
import { BarList } from '../components/bar-list.tsx';
import { RichText } from '../components/rich-text.tsx';
import { ThroughputChart } from '../components/throughput-chart.tsx';
import { Card, Empty, Kpi, ProgressBar } from '../components/ui.tsx';
import { hourMinute, n, pct, pct2, ratePct, relative, when } from '../format.ts';
import { Link } from '../router.tsx';
import { Engagement } from './delivery-engagement.tsx';
import { COMPLAINT_RATE, HARD_BOUNCE_RATE, type Threshold } from '../thresholds.ts';
import type { DeliveryDetail, DomainBreakdown, Failures, Throughput } from '../types.ts';

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

type Level = 'ok' | 'warn' | 'over';
const levelOf = (rate: number, t: Threshold): Level => (rate > t.limit ? 'over' : rate > t.warn ? 'warn' : 'ok');

function RateTile({ id, label, rate, part, whole, wholeLabel, t }: { id: string; label: string; rate: number; part: number; whole: number; wholeLabel: string; t: Threshold }) {
  const level = levelOf(rate, t);
  return (
    <div className={`rate rate-${level}`} data-rate={id} data-level={level}>
      <div className="rate-label">{label}</div>
      <div className="rate-value">{pct2(rate)}</div>
      <div className="small">
        {n(part)} of {n(whole)} {wholeLabel}
      </div>
      <div className="rate-scale" aria-hidden="true">
        <span className="rate-fill" style={{ width: `${Math.min(100, (rate / (t.limit * 2)) * 100)}%` }} />
        <span className="rate-mark warn" style={{ left: `${(t.warn / (t.limit * 2)) * 100}%` }} />
        <span className="rate-mark limit" style={{ left: '50%' }} />
      </div>
      <div className="small muted">
        {t.warnSource}; {t.limitSource} is {t.limit} %
      </div>
    </div>
  );
}

export function Overview({ d }: { d: DeliveryDetail }) {
  const atAnalysis = analysisFailures(d);
  const k = atAnalysis ? { ...d.kpis, failed: d.kpis.failed - atAnalysis, processed: d.kpis.processed - atAnalysis } : d.kpis;
  const errorLines = d.analysis && d.analyzedVersion === d.contentVersion ? d.analysis.lines.filter((l) => l.level === 'error') : [];
  const [throughput, setThroughput] = useState<Throughput | null>(null);
  const [failures, setFailures] = useState<Failures | null>(null);
  const [domains, setDomains] = useState<DomainBreakdown | null>(null);
  const [tick, setTick] = useState(0);
  const lastFetch = useRef(0);
  const sending = d.state === 'in-progress' || d.state === 'start-pending';
  const version = `${k.processed}:${k.failed}:${k.softBouncesPendingRetry}:${k.complaints}:${k.takenIntoAccount}:${tick}`;

  useEffect(() => {
    if (!sending) return;
    const timer = setInterval(() => setTick((t) => t + 1), 15_000);
    return () => clearInterval(timer);
  }, [sending]);

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout>;
    const fetchAll = () => {
      lastFetch.current = Date.now();
      get<Throughput>(`/deliveries/${d.id}/throughput`).then(setThroughput, () => {});
      get<Failures>(`/deliveries/${d.id}/failures`).then(setFailures, () => {});
    };
    const wait = 3000 - (Date.now() - lastFetch.current);
    if (wait <= 0) fetchAll();
    else timer = setTimeout(fetchAll, wait);
    return () => clearTimeout(timer);
  }, [d.id, version]);

  // Per domain reads every log of the delivery (about a second at a million on PostgreSQL):
  // once, then every 15 s while sending, not at each change of the figures.
  useEffect(() => {
    get<DomainBreakdown>(`/deliveries/${d.id}/domains`).then(setDomains, () => {});
  }, [d.id, tick, d.state]);

  const hard = failures?.byReason.filter((r) => r.failureType === 'Hard').reduce((a, r) => a + r.count, 0) ?? 0;
  const complaintRate = ratePct(k.complaints, k.sent);
  const hardRate = ratePct(hard, k.processed);
  const alarms = [
    levelOf(complaintRate, COMPLAINT_RATE) === 'over' && `Complaint rate ${pct2(complaintRate)}: ${(complaintRate / COMPLAINT_RATE.limit).toFixed(1)} times ${COMPLAINT_RATE.limitSource} of ${COMPLAINT_RATE.limit} %. Mail from this sender is likely to go to spam or be refused: pause the delivery and review who it targets.`,
    levelOf(hardRate, HARD_BOUNCE_RATE) === 'over' && `Hard-bounce rate ${pct2(hardRate)}: above ${HARD_BOUNCE_RATE.limitSource} of ${HARD_BOUNCE_RATE.limit} %. The target holds many addresses that do not exist: clean the list before sending again.`,
  ].filter((x): x is string => Boolean(x));
  const t = throughput;
  const endsAfterValidity = t?.estimatedEndAt && d.validUntil && Date.parse(t.estimatedEndAt) > Date.parse(d.validUntil);

  return (
    <>
      {alarms.map((a) => (
        <div key={a} className="banner alarm" role="alert" data-testid="rate-alarm">
          <span className="alarm-icon" aria-hidden="true">
            ▲
          </span>
          <strong>{a}</strong>
        </div>
      ))}
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
      {k.processed > 0 && (
        <div className="rates" aria-label="Rates against the providers' limits">
          <RateTile id="complaints" label="Complaint rate" rate={complaintRate} part={k.complaints} whole={k.sent} wholeLabel="sent" t={COMPLAINT_RATE} />
          <RateTile id="hard" label="Hard-bounce rate" rate={hardRate} part={hard} whole={k.processed} wholeLabel="processed" t={HARD_BOUNCE_RATE} />
        </div>
      )}
      <Card title="Progress">
        <ProgressBar kpis={k} />
      </Card>
      <Engagement d={d} />
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
        {t && (
          <p className="meta small" data-testid="throughput-summary">
            {sending ? <span className="strong">Now {n(t.currentPerMinute)} messages per minute</span> : <span>{d.finishedAt ? `Finished ${when(d.finishedAt)}` : 'Not sending'}</span>}
            <span>{n(t.remaining)} left to process</span>
            {sending && t.remaining > 0 && k.softBouncesPendingRetry >= t.remaining ? (
              <span>all of them wait for a retry after a soft bounce: they go at the retry pace, not at this rate</span>
            ) : sending && t.remaining > 0 ? (
              <span>{t.estimatedEndAt ? `estimated end ${hourMinute(t.estimatedEndAt)} (${relative(t.estimatedEndAt)})` : 'no estimate: nothing has moved in the last minutes'}</span>
            ) : null}
            {endsAfterValidity && <span className="error-text">the validity period ends first, {when(d.validUntil)}: what is left then is cancelled</span>}
          </p>
        )}
        {t && t.points.some((p) => p.sent || p.failed) ? <ThroughputChart points={t.points} bucketSeconds={t.bucketSeconds} /> : <Empty>No message has reached a final status yet.</Empty>}
      </Card>
      <Card title="Failures by type and reason" actions={<a className="button small-link" href={`/api/v1/deliveries/${d.id}/failures.csv`} download>Export CSV</a>}>
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
      <Card title="Per recipient domain" actions={<a className="button small-link" href={`/api/v1/deliveries/${d.id}/domains.csv`} download data-testid="domains-csv">Export CSV (every domain)</a>}>
          {domains?.domains.length ? (
            <table className="grid" data-table="domains">
              <thead>
                <tr>
                  <th>Domain</th>
                  <th className="num">Recipients</th>
                  <th className="num">Delivered</th>
                  <th className="num">Deferred</th>
                  <th className="num">Failed</th>
                  <th className="num">Waiting</th>
                  <th className="num" title="failed ÷ (delivered + failed)">Failed %</th>
                </tr>
              </thead>
              <tbody>
                {domains.domains.map((r) => (
                  <tr key={r.domain} data-domain={r.domain}>
                    <td className="clip" title={r.domain}>{r.domain}</td>
                    <td className="num">{n(r.recipients)}</td>
                    <td className="num">{n(r.sent)}</td>
                    <td className={`num ${r.deferred ? 'amber-text' : ''}`}>{n(r.deferred)}</td>
                    <td className={`num ${r.failed ? 'failed-text' : ''}`}>{n(r.failed)}</td>
                    <td className="num">{n(r.waiting)}</td>
                    <td className="num">{pct(r.failedPercent)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Empty>No recipient yet.</Empty>
          )}
      </Card>
    </>
  );
}
