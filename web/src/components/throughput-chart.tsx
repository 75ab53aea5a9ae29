// Messages per minute over the delivery's life: sent in blue and failed in orange, side by
// side (Campaign's colours for the same report). Plain SVG: a handful of rectangles needs
// no chart library, scales with its container, and stays crisp in screenshots. Long
// deliveries are grouped into wider buckets so there are never more than ~120 bars.
import { useMemo } from 'react';
import { clock, n } from '../format.ts';
import type { ThroughputPoint } from '../types.ts';

export type Point = ThroughputPoint;

const W = 1000;
const H = 240;
const PAD = { left: 48, right: 12, top: 12, bottom: 28 };
const BUCKETS = [1, 5, 15, 60, 360, 1440];

function niceMax(v: number): number {
  if (v <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((x) => x >= v)!;
}

export function ThroughputChart({ points }: { points: Point[] }) {
  const view = useMemo(() => {
    const times = points.map((p) => Date.parse(p.minute));
    const first = Math.min(...times);
    const last = Math.max(...times);
    const span = (last - first) / 60_000 + 1;
    const bucket = BUCKETS.find((b) => span / b <= 120) ?? 1440;
    const bars = new Map<number, { t: number; sent: number; failed: number }>();
    for (const p of points) {
      const t = first + Math.floor((Date.parse(p.minute) - first) / (bucket * 60_000)) * bucket * 60_000;
      const b = bars.get(t) ?? { t, sent: 0, failed: 0 };
      b.sent += p.sent;
      b.failed += p.failed;
      bars.set(t, b);
    }
    const slots = Math.floor((last - first) / (bucket * 60_000)) + 1;
    const max = niceMax(Math.max(1, ...[...bars.values()].flatMap((b) => [b.sent, b.failed])));
    return { first, bucket, slots, bars: [...bars.values()], max };
  }, [points]);

  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slotW = plotW / Math.max(view.slots, 1);
  const barW = Math.min(28, slotW * 0.38);
  const x = (t: number) => PAD.left + ((t - view.first) / (view.bucket * 60_000)) * slotW + slotW / 2;
  const y = (v: number) => PAD.top + plotH - (v / view.max) * plotH;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => Math.round(view.max * f));
  const labelEvery = Math.max(1, Math.ceil(view.slots / 8));
  const unit = view.bucket === 1 ? 'minute' : view.bucket < 60 ? `${view.bucket} minutes` : view.bucket === 60 ? 'hour' : `${view.bucket / 60} hours`;
  const total = (k: 'sent' | 'failed') => n(points.reduce((a, p) => a + p[k], 0));

  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Messages per ${unit}: ${total('sent')} sent and ${total('failed')} failed in all`}>
        {ticks.map((v) => (
          <g key={v}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} className="gridline" />
            <text x={PAD.left - 8} y={y(v) + 4} textAnchor="end" className="axis">
              {n(v)}
            </text>
          </g>
        ))}
        {view.bars.map((b) => (
          <g key={b.t}>
            {b.sent > 0 && (
              <rect x={x(b.t) - barW - 1} y={y(b.sent)} width={barW} height={y(0) - y(b.sent)} className="bar-sent">
                <title>{`${clock(new Date(b.t).toISOString())}: ${n(b.sent)} sent`}</title>
              </rect>
            )}
            {b.failed > 0 && (
              <rect x={x(b.t) + 1} y={y(b.failed)} width={barW} height={y(0) - y(b.failed)} className="bar-failed">
                <title>{`${clock(new Date(b.t).toISOString())}: ${n(b.failed)} failed`}</title>
              </rect>
            )}
          </g>
        ))}
        {Array.from({ length: view.slots }, (_, i) => i)
          .filter((i) => i % labelEvery === 0)
          .map((i) => {
            const t = view.first + i * view.bucket * 60_000;
            return (
              <text key={i} x={x(t)} y={H - 8} textAnchor="middle" className="axis">
                {clock(new Date(t).toISOString()).slice(0, 5)}
              </text>
            );
          })}
      </svg>
      <figcaption className="small muted">Messages per {unit} that became Sent or Failed</figcaption>
    </figure>
  );
}
