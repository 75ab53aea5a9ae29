// One address of the quarantine in a dialog: its status and why, and its audit trail (when,
// who, what, why: the recipient for an unsubscription, Estafeta for errors and complaints,
// the operator's name for a release or an addition). An operator can release it from here;
// for an address denylisted by an unsubscription the button says that it lifts the
// unsubscription, and the trail then names who did it. It does not edit the trail.
import { useState } from 'react';
import { get, post } from '../api.ts';
import { Dialog, ErrorBanner } from '../components/ui.tsx';
import { n, when } from '../format.ts';
import { useLoad } from '../live.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { QuarantineEntry, QuarantineEntryDetail } from '../types.ts';

/** Denylisted because the recipient unsubscribed (not a complaint, not an operator's addition). */
export const isUnsubscription = (q: Pick<QuarantineEntry, 'status' | 'errorText'>) => q.status === 'denylisted' && /^unsubscribed\b/i.test(q.errorText ?? '');

const who = (actor: string) => (actor === 'recipient' ? 'The recipient' : actor === 'system' ? 'Estafeta' : actor);

export const statusTone = (status: string) => (status === 'valid' ? 'green' : status === 'with-errors' || status === 'suspected' ? 'amber' : 'red');

export function QuarantineEntryDialog({ address, onClose, onReleased }: { address: string; onClose: () => void; onReleased: (message: string) => void }) {
  const { can } = useSession();
  const entry = useLoad(() => get<QuarantineEntryDetail>(`/quarantine/entry?address=${encodeURIComponent(address)}`), [address]);
  const [error, setError] = useState<string | null>(null);
  const q = entry.data;
  const unsubscribed = q ? isUnsubscription(q) : false;
  const release = async () => {
    setError(null);
    try {
      await post('/quarantine/release', { address });
      onReleased(unsubscribed ? `${address}: the unsubscription is lifted; the address is valid again and later deliveries target it.` : `${address} released: it is valid again.`);
      entry.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <Dialog
      open
      wide
      title={address}
      onClose={onClose}
      footer={
        <>
          <button type="button" onClick={onClose}>
            Close
          </button>
          {q && q.status !== 'valid' && can('operator') && (
            <button type="button" className="primary" onClick={release} data-action="release-entry">
              {unsubscribed ? 'Release: lift the unsubscription' : 'Release: make it valid again'}
            </button>
          )}
        </>
      }
    >
      <ErrorBanner error={entry.error ?? error} />
      {q && (
        <>
          <dl className="pairs" data-testid="quarantine-entry">
            <dt>Status</dt>
            <dd>
              <span className={`badge tone-${statusTone(q.status)}`}>{q.statusLabel}</span>
              {unsubscribed && <span className="strong"> · the recipient unsubscribed</span>}
            </dd>
            {/* A valid address keeps its last reason in the table; the trail says what happened since. */}
            {q.failureType && q.status !== 'valid' && (
              <>
                <dt>Reason</dt>
                <dd>
                  {q.failureType} · {q.failureReason ?? 'Not defined'}
                </dd>
              </>
            )}
            {q.errorText && q.status !== 'valid' && (
              <>
                <dt>{unsubscribed ? 'How' : 'Last error'}</dt>
                <dd className={unsubscribed ? '' : 'mono small'}>{unsubscribed ? q.errorText.replace(/^./, (c) => c.toUpperCase()) : q.errorText}</dd>
              </>
            )}
            {!unsubscribed && (
              <>
                <dt>Errors</dt>
                <dd>{n(q.errorCount)}</dd>
              </>
            )}
            {q.deliveryId !== null && (
              <>
                <dt>Delivery</dt>
                <dd>
                  <Link to={`/deliveries/${q.deliveryId}`}>#{q.deliveryId}</Link>
                </dd>
              </>
            )}
            <dt>First seen</dt>
            <dd>{when(q.createdAt)}</dd>
          </dl>
          {unsubscribed && q.status === 'denylisted' && (
            <p className="small muted" data-testid="unsubscribed-note">
              Every delivery's analysis excludes this address (Denylisted address). Release it only if the recipient asked to be on the list again: the release is recorded with your name.
            </p>
          )}
          <h3>History</h3>
          {q.history.length ? (
            <table className="grid" data-table="quarantine-history">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Who</th>
                  <th>What</th>
                  <th>Why</th>
                </tr>
              </thead>
              <tbody>
                {[...q.history].reverse().map((h, i) => (
                  <tr key={i} data-actor={h.actor}>
                    <td className="nowrap small">{when(h.at)}</td>
                    <td className="history-actor nowrap">{who(h.actor)}</td>
                    <td className="nowrap">{h.action}</td>
                    <td className="small">{h.detail === 'released' ? 'released by an operator' : h.detail ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">No change recorded for this address (entries older than the audit trail have none).</p>
          )}
        </>
      )}
    </Dialog>
  );
}
