// The Links tab: each tracked link of the delivery (its label, URL as written, part) with its
// clicks and unique clicks by people and its share of the people who clicked, most clicked
// first. It reads the report again when the delivery's click figures move (they come live
// with the KPIs), at most every 2 seconds, and every 15 s while sending; it never polls a
// delivery that is done and quiet. Machine clicks are in no figure here (docs/TRACKING.md).
import { useEffect, useRef, useState } from 'react';
import { get } from '../api.ts';
import { Card, Empty, ErrorBanner } from '../components/ui.tsx';
import { n, pct } from '../format.ts';
import type { DeliveryDetail, LinkReport } from '../types.ts';

export type TrackedLink = LinkReport['links'][number];

/** Most clicked by people first; ties keep the links' order in the message. */
export const byUniqueClicks = (a: TrackedLink, b: TrackedLink) => b.uniqueClicks - a.uniqueClicks || b.clicks - a.clicks || (a.part === b.part ? a.position - b.position : a.part === 'html' ? -1 : 1);

/** "link 2 (Your page)": how a log's history names a link, by the number this tab shows. */
export const linkName = (id: number, label?: string | null) => `link ${n(id)}${label ? ` (${label})` : ''}`;

export function LinksTab({ d }: { d: DeliveryDetail }) {
  const [report, setReport] = useState<LinkReport | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [tick, setTick] = useState(0);
  const last = useRef(0);
  const sending = d.state === 'in-progress' || d.state === 'start-pending';
  const version = `${d.kpis.clicks}:${d.kpis.uniqueClicks}:${tick}`;

  useEffect(() => {
    if (!sending) return;
    const timer = setInterval(() => setTick((t) => t + 1), 15_000);
    return () => clearInterval(timer);
  }, [sending]);

  useEffect(() => {
    const load = () => {
      last.current = Date.now();
      get<LinkReport>(`/deliveries/${d.id}/links`).then(
        (r) => {
          setReport(r);
          setError(null);
        },
        setError,
      );
    };
    const wait = 2000 - (Date.now() - last.current);
    if (wait <= 0) {
      load();
      return;
    }
    const timer = setTimeout(load, wait);
    return () => clearTimeout(timer);
  }, [d.id, version]);

  const links = report ? [...report.links].sort(byUniqueClicks) : [];
  return (
    <Card title="Tracked links">
      <ErrorBanner error={error} />
      {report && (
        <p className="small muted" data-testid="links-summary">
          {n(report.uniqueClicks)} {report.uniqueClicks === 1 ? 'person' : 'people'} clicked at least one link; {n(d.kpis.machineClicks)} machine click{d.kpis.machineClicks === 1 ? '' : 's'} (link scanners) are left out of these figures.
        </p>
      )}
      {report && !links.length ? (
        <Empty>{d.tracking ? 'No tracked link yet: links are recorded when the messages are built.' : 'Tracking is off for this delivery: no link is tracked.'}</Empty>
      ) : (
        report && (
          <table className="grid fixed" data-table="links">
            <thead>
              <tr>
                <th className="w-num" title="the link's number, as a log's history names it">Link</th>
                <th className="w-link-label">Label</th>
                <th>URL</th>
                <th className="w-small">Part</th>
                <th className="num w-clicks">Clicks</th>
                <th className="num w-clicks" title="people who clicked this link">Unique clicks</th>
                <th className="num w-clicks" title="unique clicks on this link ÷ people who clicked any link">Of clickers</th>
              </tr>
            </thead>
            <tbody>
              {links.map((l) => (
                <tr key={l.id} data-link={l.id}>
                  <td className="num">{n(l.id)}</td>
                  <td className="clip" title={l.label}>{l.label || <span className="muted">no text</span>}</td>
                  <td className="clip mono small" title={l.url}>
                    {l.url}
                    {l.personalized && <span className="muted"> (personalized)</span>}
                  </td>
                  <td>{l.part === 'html' ? 'HTML' : 'Text'}</td>
                  <td className="num">{n(l.clicks)}</td>
                  <td className="num">{n(l.uniqueClicks)}</td>
                  <td className="num">{pct(l.percentOfClickers)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      )}
    </Card>
  );
}
