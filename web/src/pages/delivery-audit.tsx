// The audit tab: who did what and when (created, analyzed, confirmed, paused, stopped…), in
// words: each action has a sentence and its detail is written out ("65 targeted, 63 to
// deliver, no error, 1 warning"), never as the keys the server stores.
import { get } from '../api.ts';
import { Card, Empty, ErrorBanner } from '../components/ui.tsx';
import { n, when } from '../format.ts';
import { useLoad } from '../live.ts';
import type { AuditTrail } from '../types.ts';

const ACTIONS: Record<string, string> = {
  created: 'Created',
  edited: 'Edited',
  'target-imported': 'Recipients imported',
  'analysis-started': 'Analysis started',
  analyzed: 'Analyzed',
  'analysis-failed': 'Analysis failed',
  confirmed: 'Confirmed for sending',
  started: 'Sending started',
  'resumed-sending': 'Sending resumed',
  'pause-requested': 'Pause requested',
  paused: 'Paused',
  resumed: 'Resumed',
  'stop-requested': 'Stop requested',
  stopped: 'Stopped',
  finished: 'Finished',
  'validity-ended': 'Validity period ended',
};

const FIELDS: Record<string, string> = { from: 'sender', replyTo: 'reply-to', html: 'HTML content', text: 'text content', validity: 'validity period', ipPool: 'IP pool', unsubscribeUrl: 'unsubscribe URL', recipientsCsv: 'recipients', recipients: 'recipients' };
const words = (s: string) => s.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[-_]/g, ' ').toLowerCase();
export const actionText = (action: string) => ACTIONS[action] ?? words(action).replace(/^./, (c) => c.toUpperCase());
const plural = (count: number, one: string, many = `${one}s`) => `${n(count)} ${count === 1 ? one : many}`;
const value = (v: unknown): string => (typeof v === 'number' ? n(v) : typeof v === 'string' ? v : Array.isArray(v) ? v.map(value).join(', ') : v && typeof v === 'object' ? Object.entries(v).map(([k, x]) => `${words(k)} ${value(x)}`).join(', ') : String(v ?? ''));

/** The detail of an audit entry as a sentence. */
export function detailText(action: string, detail: unknown): string {
  if (detail === null || detail === undefined) return '';
  if (typeof detail !== 'object') return String(detail);
  const d = detail as Record<string, unknown>;
  const num = (k: string) => (typeof d[k] === 'number' ? (d[k] as number) : null);
  switch (action) {
    case 'created':
      return num('recipients') !== null ? `with ${plural(num('recipients')!, 'recipient')}` : '';
    case 'edited':
      return Array.isArray(d.fields) ? `changed: ${d.fields.map((f) => FIELDS[String(f)] ?? words(String(f))).join(', ')}` : '';
    case 'target-imported':
      return `${plural(num('imported') ?? 0, 'row')} ${d.mode === 'append' ? 'added' : 'replacing the previous target'}; ${plural(num('total') ?? 0, 'recipient')} in the target`;
    case 'analyzed': {
      const errors = num('errors') ?? 0;
      const warnings = num('warnings') ?? 0;
      return `${n(num('targeted') ?? 0)} targeted, ${n(num('toDeliver') ?? 0)} to deliver, ${errors ? plural(errors, 'error') : 'no error'}, ${warnings ? plural(warnings, 'warning') : 'no warning'}`;
    }
    case 'validity-ended':
      return num('cancelled') !== null ? `${plural(num('cancelled')!, 'message')} not sent cancelled` : '';
    default:
      return Object.entries(d)
        .map(([k, v]) => (k === 'message' || k === 'reason' ? value(v) : `${words(k)}: ${value(v)}`))
        .join(' · ');
  }
}

export function AuditTab({ id, state }: { id: number; state: string }) {
  // The state is a dependency so a new action shows up without a reload.
  const { data, error } = useLoad(() => get<AuditTrail>(`/deliveries/${id}/audit`), [id, state]);
  return (
    <Card>
      <ErrorBanner error={error} />
      {data && !data.entries.length && <Empty>No entry.</Empty>}
      {data && data.entries.length > 0 && (
        <table className="grid" data-table="audit">
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
              <tr key={e.id} data-action={e.action}>
                <td className="nowrap">{when(e.at)}</td>
                <td className="strong">{e.actor}</td>
                <td>{actionText(e.action)}</td>
                <td className="small muted">{detailText(e.action, e.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
