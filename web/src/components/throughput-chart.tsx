// Messages that became Sent (blue) or Failed (orange) per bucket over the delivery's life,
// side by side (Campaign's colours for the same report). The server picks the bucket width
// that fits the delivery's length (seconds for a short one, minutes or hours for a long one),
// so there are never more than about 120 bars. Plain SVG: it scales with its container and
// stays crisp in screenshots.
import { useMemo } from 'react';
import { clock, hourMinute, n, when } from '../format.ts';
import type { ThroughputPoint } from '../types.ts';

export type Point = ThroughputPoint;

const W = 1000;
const H = 240;
const PAD = { left: 52, right: 12, top: 12, bottom: 28 };

/** The top of the axis: four steps of 1, 2 or 5 times a power of ten, so every tick is a round number. */
function niceMax(v: number): number {
  const raw = Math.max(1, v / 4);
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((x) => x >= raw)!;
  return step * 4;
}

/** "5 seconds", "minute", "15 minutes", "hour", "6 hours", "day". */
export function bucketName(seconds: number): string {
  if (seconds < 60) return `${seconds} seconds`;
  const m = seconds / 60;
  if (m === 1) return 'minute';
  if (m < 60) return `${m} minutes`;
  const h = m / 60;
  return h === 1 ? 'hour' : h === 24 ? 'day' : `${h} hours`;
}

export function ThroughputChart({ points, bucketSeconds }: { points: Point[]; bucketSeconds: number }) {
  const view = useMemo(() => ({ max: niceMax(Math.max(1, ...points.flatMap((p) => [p.sent, p.failed]))) }), [points]);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slotW = plotW / Math.max(points.length, 1);
  const barW = Math.min(28, slotW * 0.38);
  const x = (i: number) => PAD.left + i * slotW + slotW / 2;
  const y = (v: number) => PAD.top + plotH - (v / view.max) * plotH;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => view.max * f);
  const labelEvery = Math.max(1, Math.ceil(points.length / 8));
  const unit = bucketName(bucketSeconds);
  // Over more than a day, an hour alone is ambiguous: the day goes with it ("3 Dec 14:00").
  const spansDays = points.length > 1 && Date.parse(points[points.length - 1].minute) - Date.parse(points[0].minute) > 86_400_000;
  const label = (iso: string) => (bucketSeconds < 60 ? clock(iso) : bucketSeconds >= 86_400 ? when(iso).replace(/ \d\d:\d\d:\d\d$/, '') : spansDays ? when(iso).replace(/:\d\d$/, '') : hourMinute(iso));
  const total = (k: 'sent' | 'failed') => n(points.reduce((a, p) => a + p[k], 0));

  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Messages per ${unit}: ${total('sent')} sent and ${total('failed')} failed in all`}>
        {[...new Set(ticks)].map((v) => (
          <g key={v}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} className="gridline" />
            <text x={PAD.left - 8} y={y(v) + 4} textAnchor="end" className="axis">
              {n(v)}
            </text>
          </g>
        ))}
        {points.map((p, i) => (
          <g key={p.minute}>
            {p.sent > 0 && (
              <rect x={x(i) - barW - 1} y={y(p.sent)} width={barW} height={y(0) - y(p.sent)} className="bar-sent">
                <title>{`${label(p.minute)}: ${n(p.sent)} sent`}</title>
              </rect>
            )}
            {p.failed > 0 && (
              <rect x={x(i) + 1} y={y(p.failed)} width={barW} height={y(0) - y(p.failed)} className="bar-failed">
                <title>{`${label(p.minute)}: ${n(p.failed)} failed`}</title>
              </rect>
            )}
          </g>
        ))}
        {points.map((p, i) =>
          i % labelEvery === 0 ? (
            <text key={p.minute} x={x(i)} y={H - 8} textAnchor="middle" className="axis">
              {label(p.minute)}
            </text>
          ) : null,
        )}
      </svg>
      <figcaption className="small muted">Messages per {unit} that became Sent or Failed</figcaption>
    </figure>
  );
}
