// The analysis report: targeted, to deliver and excluded counts, the causes of exclusion,
// the checks' info, warning and error lines (an error blocks confirmation), message size
// and the main recipient domains. While it runs, its progress comes from the live stream.
import { BarList } from '../components/bar-list.tsx';
import { RichText } from '../components/rich-text.tsx';
import { Card, Empty, Kpi } from '../components/ui.tsx';
import { bytes, duration, n, when } from '../format.ts';
import type { DeliveryDetail } from '../types.ts';

const ICON = { info: 'ℹ', warning: '⚠', error: '✖' } as const;
/** Errors first (they block the confirmation), then warnings, then information; the server's order within each. */
const SEVERITY = { error: 0, warning: 1, info: 2 } as const;

export function AnalysisTab({ d }: { d: DeliveryDetail }) {
  const a = d.analysis;
  const p = d.analysisProgress;
  if (d.state === 'analyzing') {
    const done = p && p.total ? Math.round((p.done / p.total) * 100) : 0;
    return (
      <Card title="Analysis in progress">
        <div className="progress" role="progressbar" aria-valuenow={done} aria-valuemin={0} aria-valuemax={100} aria-label="Analysis progress">
          <div className="bar">
            <span className="seg sent" style={{ width: `${done}%` }} />
          </div>
          <p className="small">{p ? `${n(p.done)} of ${n(p.total)} recipients` : 'Starting…'}</p>
        </div>
      </Card>
    );
  }
  if (!a) return <Empty>This delivery has not been analyzed yet. Analyze it to compute the target, the exclusions and the checks.</Empty>;
  const stale = d.state === 'being-edited';
  return (
    <>
      {stale && <div className="banner warning">The delivery changed after this analysis: analyze it again before confirming.</div>}
      <div className="kpis compact">
        <Kpi label="Targeted" value={n(a.counts.targeted)} />
        <Kpi label="To deliver" value={n(a.counts.toDeliver)} tone="sent" />
        <Kpi label="Excluded" value={n(a.counts.excluded)} />
        <Kpi label="Errors" value={n(a.errors)} tone={a.errors ? 'failed' : undefined} hint={a.errors ? 'confirmation is blocked' : undefined} />
        <Kpi label="Warnings" value={n(a.warnings)} />
        <Kpi label="Largest message" value={bytes(a.messageSize.max)} hint={`average ${bytes(a.messageSize.average)}`} />
      </div>
      <Card title="Checks" actions={<span className="small muted">Analyzed {when(a.finishedAt)} in {duration(a.durationMs)}</span>}>
        {a.lines.length ? (
          <ul className="lines">
            {[...a.lines].sort((x, y) => SEVERITY[x.level] - SEVERITY[y.level]).map((l, i) => (
              <li key={i} className={`line ${l.level}`}>
                <span className="line-icon" aria-label={l.level}>
                  {ICON[l.level]}
                </span>
                <div>
                  <div>
                    <RichText text={l.message} />
                  </div>
                  {l.samples?.length ? <div className="small muted mono">{l.samples.join(' · ')}</div> : null}
                </div>
              </li>
            ))}
          </ul>
        ) : (
          <Empty>No remark.</Empty>
        )}
      </Card>
      <div className="two-col">
        <Card title="Causes of exclusion">
          {Object.keys(a.counts.excludedByReason).length ? (
            <BarList rows={Object.entries(a.counts.excludedByReason).map(([reason, count]) => ({ key: reason, label: reason, value: count }))} />
          ) : (
            <Empty>No recipient excluded.</Empty>
          )}
        </Card>
        <Card title="Main recipient domains">
          {a.topDomains.length ? <BarList rows={a.topDomains.map((t) => ({ key: t.domain, label: t.domain, value: t.count }))} tone="sent" /> : <Empty>No recipient.</Empty>}
        </Card>
      </div>
    </>
  );
}
