// The audit tab: who did what and when (created, analyzed, confirmed, paused, stopped…).
import { get } from '../api.ts';
import { Card, Empty, ErrorBanner } from '../components/ui.tsx';
import { when } from '../format.ts';
import { useLoad } from '../live.ts';
import type { AuditTrail } from '../types.ts';

const detailText = (d: unknown) => (d === null || d === undefined ? '' : typeof d === 'string' ? d : Object.entries(d as Record<string, unknown>).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' · '));

export function AuditTab({ id, state }: { id: number; state: string }) {
  // The state is a dependency so a new action shows up without a reload.
  const { data, error } = useLoad(() => get<AuditTrail>(`/deliveries/${id}/audit`), [id, state]);
  return (
    <Card>
      <ErrorBanner error={error} />
      {data && !data.entries.length && <Empty>No entry.</Empty>}
      {data && data.entries.length > 0 && (
        <table className="grid">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>What</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {[...data.entries].reverse().map((e) => (
              <tr key={e.id}>
                <td className="nowrap">{when(e.at)}</td>
                <td className="strong">{e.actor}</td>
                <td>{e.action}</td>
                <td className="small muted">{detailText(e.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
