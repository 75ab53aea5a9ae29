// The overview's Engagement card: what recipients did with the messages (opens, clicks,
// click-to-open, unsubscriptions), each as a count, a rate and the figure the rate is taken
// of, said on screen; machine opens and clicks (privacy proxies, link scanners) apart, since
// they are in no rate. Figures come with the delivery's KPIs from its event stream, so they
// move live like the others. It reads nothing itself. docs/TRACKING.md has the formulas.
import { Card } from '../components/ui.tsx';
import { n, pct } from '../format.ts';
import type { DeliveryDetail, Kpis } from '../types.ts';

const plural = (v: number, one: string, many = `${one}s`) => `${n(v)} ${v === 1 ? one : many}`;

function Figure({ id, label, value, rate, of, extra }: { id: string; label: string; value: string; rate?: string; of: string; extra?: string }) {
  return (
    <div className="kpi engagement-figure" data-engagement={id}>
      <div className="kpi-label">{label}</div>
      <div className="kpi-value">
        {value}
        {rate !== undefined && <span className="engagement-rate" data-part="rate">{rate}</span>}
      </div>
      <div className="kpi-hint" data-part="of">{of}</div>
      {extra && <div className="kpi-hint" data-part="extra">{extra}</div>}
    </div>
  );
}

export function Engagement({ d }: { d: DeliveryDetail }) {
  const k: Kpis = d.kpis;
  const sent = `of ${n(k.sent)} sent`;
  return (
    <Card title="Engagement" className="engagement">
      {!d.tracking && (
        <p className="small muted" data-testid="tracking-off">
          Opens and clicks are not tracked for this delivery (tracking was switched off): only unsubscriptions and complaints are counted.
        </p>
      )}
      <div className="kpis engagement-figures" aria-label="Engagement">
        <Figure id="opens" label="Unique opens (people)" value={n(k.uniqueOpens)} rate={pct(k.openRatePercent)} of={sent} extra={`${plural(k.opens, 'open')} in all`} />
        <Figure id="clicks" label="Unique clicks (people)" value={n(k.uniqueClicks)} rate={pct(k.clickRatePercent)} of={sent} extra={`${plural(k.clicks, 'click')} in all`} />
        <Figure id="clickToOpen" label="Click-to-open" value={pct(k.clickToOpenPercent)} of={`${n(k.uniqueClicks)} of ${n(k.uniqueOpens)} who opened`} />
        <Figure id="unsubscribes" label="Unsubscribed" value={n(k.unsubscribes)} rate={pct(k.unsubscribePercent)} of={sent} />
      </div>
      <div className="engagement-machines" data-testid="machine-engagement">
        <span data-engagement="machineOpens">
          <strong>{plural(k.machineOpens, 'machine open')}</strong>
        </span>
        <span data-engagement="machineClicks">
          <strong>{plural(k.machineClicks, 'machine click')}</strong>
        </span>
        <span className="muted why">
          Counted apart and in no rate: images fetched by mail privacy proxies (Apple Mail Privacy Protection, an image proxy at delivery) and links followed by security
          scanners (Safe Links and the like: every link within a second, or a click before any open).
        </span>
      </div>
    </Card>
  );
}
