// One delivery log with its whole history: every attempt and its SMTP reply, deferrals,
// bounce mails and complaints, in order, with what was applied when.
import { get } from '../api.ts';
import { Dialog, ErrorBanner, StatusBadge } from '../components/ui.tsx';
import { when } from '../format.ts';
import { useLoad } from '../live.ts';
import type { LogDetail as LogWithHistory } from '../types.ts';

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export function LogDetail({ id, onClose }: { id: number; onClose: () => void }) {
  const { data, error } = useLoad(() => get<LogWithHistory>(`/logs/${id}`), [id]);
  return (
    <Dialog open title={data ? data.address || `Log ${id}` : `Log ${id}`} onClose={onClose} wide>
      <ErrorBanner error={error} />
      {data && (
        <>
          <dl className="pairs">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={data.status} label={data.statusLabel} />
            </dd>
            <dt>Failure</dt>
            <dd>{data.failureType ? `${data.failureType} · ${data.failureReason ?? ''}` : '–'}</dd>
            <dt>Attempts</dt>
            <dd>{data.attempts}</dd>
            <dt>Message-ID</dt>
            <dd className="mono small">{data.messageId}</dd>
            <dt>Last reply</dt>
            <dd className="mono small">{data.reply ?? '–'}</dd>
            <dt>Created</dt>
            <dd>{when(data.createdAt)}</dd>
            <dt>Sent</dt>
            <dd>{when(data.sentAt)}</dd>
            {data.complainedAt && (
              <>
                <dt>Complaint</dt>
                <dd>{when(data.complainedAt)}</dd>
              </>
            )}
          </dl>
          <h3>History</h3>
          {data.history.length ? (
            <ol className="timeline">
              {data.history.map((e) => (
                <li key={e.id} className={`ev ev-${e.type}`}>
                  <div className="ev-head">
                    <strong>{e.type}</strong> <span className="muted small">{when(e.occurredAt)}</span>
                  </div>
                  <dl className="pairs small">
                    {Object.entries(e.payload).map(([k, v]) => (
                      <div key={k} className="pair">
                        <dt>{k}</dt>
                        <dd className="mono">{show(v)}</dd>
                      </div>
                    ))}
                  </dl>
                </li>
              ))}
            </ol>
          ) : (
            <p className="muted">No event yet: the message has not been attempted.</p>
          )}
        </>
      )}
    </Dialog>
  );
}
