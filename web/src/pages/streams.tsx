// The message streams: each with its sender domains and its figures over a window (last
// hour, 24 hours, 7 days: a stream never finishes, so there is no total to show), messages,
// delivered and bounced shares, and when its last message came. Reads again every 10 s.
import { qs, get } from '../api.ts';
import { Card, Empty, ErrorBanner, StateBadge } from '../components/ui.tsx';
import { WINDOWS, WindowPicker } from '../components/window-picker.tsx';
import { n, pct, relative, when } from '../format.ts';
import { usePoll } from '../live.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import type { StreamSummary } from '../types.ts';

export const windowOf = (query: URLSearchParams) => (WINDOWS.some(([w]) => w === query.get('window')) ? query.get('window')! : '24h');
export const windowLabel = (w: string) => WINDOWS.find(([x]) => x === w)![1].toLowerCase();

export function StreamsPage() {
  const { query } = useLocation();
  const win = windowOf(query);
  const { data, error, at } = usePoll(() => get<StreamSummary>(`/streams/summary${qs({ since: win })}`), [win], 10_000);
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Streams</h1>
          <p className="muted">Message streams take messages from applications (API or SMTP) and never finish: their figures are over the {windowLabel(win)}.{at ? <span className="live on"> updated {when(at).slice(-8)}</span> : null}</p>
        </div>
        <div className="page-actions">
          <WindowPicker value={win} onChange={(w) => navigate(`/streams${qs({ window: w === '24h' ? '' : w })}`, true)} />
        </div>
      </header>
      <ErrorBanner error={error} />
      <Card>
        {data && !data.streams.length ? (
          <Empty>No stream yet. Create one with the CLI: estafeta streams create --name receipts --from-domain shop.example</Empty>
        ) : (
          <table className="grid" data-table="streams">
            <thead>
              <tr>
                <th>Stream</th>
                <th>State</th>
                <th>From domains</th>
                <th className="num">Messages</th>
                <th className="num">Delivered</th>
                <th className="num">Bounced</th>
                <th className="num">Waiting</th>
                <th>Last message</th>
              </tr>
            </thead>
            <tbody>
              {data?.streams.map((s) => (
                <tr key={s.id} data-stream={s.id}>
                  <td className="label-cell">
                    <Link to={`/streams/${s.id}${qs({ window: win === '24h' ? '' : win })}`} className="strong">
                      {s.name}
                    </Link>
                    <div className="small muted nowrap">#{s.id} · created {when(s.createdAt)}</div>
                  </td>
                  <td>
                    <StateBadge state={s.state} label={s.stateLabel} />
                  </td>
                  <td className="clip" title={s.fromDomains.join(', ')}>{s.fromDomains.join(', ')}</td>
                  <td className="num strong" data-col="messages">{n(s.window.messages)}</td>
                  <td className="num" data-col="delivered">{s.window.messages ? pct(s.window.deliveredPercent) : '–'}</td>
                  <td className={`num ${s.window.failed ? 'failed-text' : ''}`} data-col="bounced">{s.window.messages ? pct(s.window.bouncedPercent) : '–'}</td>
                  <td className="num">{n(s.window.waiting)}</td>
                  <td className="small nowrap" data-col="last" title={s.window.lastMessageAt ? when(s.window.lastMessageAt) : undefined}>
                    {s.window.lastMessageAt ? relative(s.window.lastMessageAt) : 'none yet'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
