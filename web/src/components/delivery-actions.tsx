// The operator actions of one delivery as buttons: only those its state allows, disabled
// with the reason for a viewer, and a confirmation step before sending or stopping.
import { useState } from 'react';
import { ACTION_LABELS, allowedActions, NEEDS_CONFIRMATION, runAction, type Action } from '../actions.ts';
import { n } from '../format.ts';
import { useSession } from '../session.tsx';
import type { Kpis } from '../types.ts';
import { Dialog, ErrorBanner } from './ui.tsx';

interface Props {
  id: number;
  label: string;
  state: string;
  kpis?: Kpis;
  /** Errors of the analysis of the current content: while there are any, Confirm is refused. */
  analysisErrors?: number | null;
  compact?: boolean;
  onDone?: () => void;
}

export function DeliveryActions({ id, label, state, kpis, analysisErrors, compact = false, onDone }: Props) {
  const { can, user } = useSession();
  const [asking, setAsking] = useState<Action | null>(null);
  const [busy, setBusy] = useState<Action | null>(null);
  const [error, setError] = useState<string | null>(null);
  const actions = allowedActions(state);
  const readOnly = !can('operator');
  const blocked = analysisErrors ? `Confirmation is blocked: the analysis found ${n(analysisErrors)} error${analysisErrors === 1 ? '' : 's'}. Fix ${analysisErrors === 1 ? 'it' : 'them'} and analyze again.` : null;
  const why = (a: Action) => (readOnly ? `Your role (${user.role}) can read deliveries but not ${a} them` : a === 'confirm' && blocked ? blocked : undefined);

  const run = async (a: Action) => {
    setAsking(null);
    setBusy(a);
    setError(null);
    try {
      await runAction(id, a);
      onDone?.();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(null);
    }
  };

  if (!actions.length) return null;
  return (
    <div className="actions-box">
      <div className={`actions ${compact ? 'compact' : ''}`}>
        {actions.map((a) => (
          <button
            key={a}
            type="button"
            className={a === 'confirm' ? 'primary' : a === 'stop' ? 'danger' : ''}
            disabled={readOnly || busy !== null || (a === 'confirm' && blocked !== null)}
            title={why(a)}
            aria-label={compact ? `${ACTION_LABELS[a]} delivery ${id}` : undefined}
            data-action={a}
            onClick={() => (NEEDS_CONFIRMATION.includes(a) ? setAsking(a) : run(a))}
          >
            {busy === a ? `${ACTION_LABELS[a]}…` : ACTION_LABELS[a]}
          </button>
        ))}
        {!compact && readOnly && <span className="muted">Read-only: the viewer role cannot act on deliveries.</span>}
        {!compact && !readOnly && blocked && actions.includes('confirm') && <span className="small error-text" data-testid="confirm-blocked">{blocked}</span>}
      </div>
      {/* Under the buttons, so a long refusal wraps instead of widening the list's column. */}
      {error && (compact ? <div className="inline-error" role="alert">{error}</div> : <ErrorBanner error={error} />)}
      <Dialog
        open={asking !== null}
        title={asking === 'confirm' ? 'Confirm the delivery' : 'Stop the delivery'}
        onClose={() => setAsking(null)}
        footer={
          <>
            <button type="button" onClick={() => setAsking(null)}>
              Cancel
            </button>
            <button type="button" className={asking === 'stop' ? 'danger' : 'primary'} data-confirm={asking ?? ''} onClick={() => asking && run(asking)}>
              {asking === 'confirm' ? 'Send now' : 'Stop sending'}
            </button>
          </>
        }
      >
        {asking === 'confirm' ? (
          <p>
            Send <strong>“{label}”</strong>
            {kpis ? <> to <strong>{n(kpis.toDeliver)}</strong> recipients</> : null}? Messages start leaving at once.
          </p>
        ) : (
          <p>
            Stop <strong>“{label}”</strong>? Messages not yet sent are cancelled; a stopped delivery cannot be resumed.
          </p>
        )}
      </Dialog>
    </div>
  );
}
