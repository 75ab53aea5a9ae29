// A ranked list with proportional bars: easier to read than a pie for "failures by reason"
// and "by domain", works at any width, and is plain HTML for screen readers.
import { n } from '../format.ts';

export interface BarRow {
  key: string;
  label: string;
  tag?: string;
  value: number;
  note?: string;
}

export function BarList({ rows, tone = 'neutral', max }: { rows: BarRow[]; tone?: 'failed' | 'neutral' | 'sent'; max?: number }) {
  const top = max ?? Math.max(1, ...rows.map((r) => r.value));
  return (
    <table className="barlist">
      <tbody>
        {rows.map((r) => (
          <tr key={r.key}>
            <th scope="row">
              {r.label}
              {r.tag && <span className="tag">{r.tag}</span>}
            </th>
            <td className="bar-cell">
              <span className={`hbar ${tone}`} style={{ width: `${(r.value / top) * 100}%` }} />
            </td>
            <td className="num strong">{n(r.value)}</td>
            <td className="small muted nowrap">{r.note}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
