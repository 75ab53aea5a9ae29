// Small building blocks shared by the pages: cards, badges, KPI tiles, progress bars,
// banners and a confirmation dialog built on <dialog> (focus and Escape come for free).
import { useEffect, useRef, type ReactNode } from 'react';
import { n } from '../format.ts';
import type { Kpis } from '../types.ts';

export function Card({ title, actions, children, className = '' }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={`card ${className}`}>
      {(title || actions) && (
        <header className="card-head">
          {title && <h2>{title}</h2>}
          {actions && <div className="card-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

const STATE_TONE: Record<string, string> = {
  'being-edited': 'grey',
  analyzing: 'blue',
  'pending-confirmation': 'amber',
  'start-pending': 'blue',
  'in-progress': 'blue',
  'pause-requested': 'amber',
  paused: 'amber',
  'stop-requested': 'amber',
  stopped: 'grey',
  finished: 'green',
  failed: 'red',
};
export const StateBadge = ({ state, label }: { state: string; label: string }) => (
  <span className={`badge tone-${STATE_TONE[state] ?? 'grey'}`} data-state={state}>
    {['in-progress', 'analyzing', 'start-pending'].includes(state) && <span className="pulse" aria-hidden="true" />}
    {label}
  </span>
);

const STATUS_TONE: Record<string, string> = { sent: 'green', failed: 'red', ignored: 'grey', taken: 'blue', pending: 'grey', cancelled: 'grey' };
/** Campaign's label, shortened where it is long ("Taken into account by the service provider"); the whole label is the title. */
const SHORT_STATUS: Record<string, string> = { taken: 'Taken into account' };
export const StatusBadge = ({ status, label }: { status: string; label: string }) => (
  <span className={`badge tone-${STATUS_TONE[status] ?? 'grey'}`} title={label}>
    {SHORT_STATUS[status] ?? label}
  </span>
);

export function Kpi({ label, value, hint, tone, id }: { label: string; value: ReactNode; hint?: string; tone?: string; id?: string }) {
  return (
    <div className={`kpi ${tone ? `kpi-${tone}` : ''}`} data-kpi={id} title={hint}>
      <div className="kpi-label">{label}</div>
      <div className="kpi-value">{value}</div>
      {hint && <div className="kpi-hint">{hint}</div>}
    </div>
  );
}

/** Sent, failed and in-flight parts of the messages to deliver, as one bar. */
export function ProgressBar({ kpis, compact = false }: { kpis: Kpis; compact?: boolean }) {
  const total = Math.max(kpis.toDeliver, kpis.sent + kpis.failed + kpis.takenIntoAccount, 1);
  const w = (v: number) => `${(v / total) * 100}%`;
  const done = kpis.toDeliver ? Math.round(((kpis.sent + kpis.failed) / kpis.toDeliver) * 100) : 0;
  return (
    <div className={`progress ${compact ? 'compact' : ''}`} role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={done} aria-label={`${done} % processed`}>
      <div className="bar">
        <span className="seg sent" style={{ width: w(kpis.sent) }} />
        <span className="seg failed" style={{ width: w(kpis.failed) }} />
        <span className="seg taken" style={{ width: w(kpis.takenIntoAccount) }} />
      </div>
      {!compact && (
        <div className="legend">
          <span><i className="dot sent" />Sent {n(kpis.sent)}</span>
          <span><i className="dot failed" />Failed {n(kpis.failed)}</span>
          <span><i className="dot taken" />Taken into account {n(kpis.takenIntoAccount)}</span>
          <span><i className="dot pending" />Pending {n(kpis.pending)}</span>
        </div>
      )}
      {compact && <span className="progress-label">{done} %</span>}
    </div>
  );
}

export const ErrorBanner = ({ error }: { error: Error | string | null | undefined }) =>
  error ? (
    <div className="banner error" role="alert">
      {typeof error === 'string' ? error : error.message}
    </div>
  ) : null;

export const Notice = ({ children }: { children: ReactNode }) => <div className="banner info">{children}</div>;

export const Empty = ({ children }: { children: ReactNode }) => <div className="empty">{children}</div>;

/** A modal dialog: opens when `open` is true; Escape or Cancel closes it. */
export function Dialog({ open, title, children, onClose, footer, wide = false }: { open: boolean; title: string; children: ReactNode; onClose: () => void; footer?: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className={wide ? 'wide' : ''} onClose={onClose} aria-label={title}>
      <header className="dialog-head">
        <h2>{title}</h2>
        <button type="button" className="icon" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </header>
      <div className="dialog-body">{open && children}</div>
      {footer && <footer className="dialog-foot">{footer}</footer>}
    </dialog>
  );
}

export function Tabs({ tabs, current, onSelect }: { tabs: { id: string; label: string }[]; current: string; onSelect: (id: string) => void }) {
  // Arrow keys move between tabs, as in the WAI-ARIA tabs pattern.
  const onKey = (e: React.KeyboardEvent, i: number) => {
    const next = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : null;
    if (next === null) return;
    const t = tabs[(next + tabs.length) % tabs.length];
    onSelect(t.id);
    document.getElementById(`tab-${t.id}`)?.focus();
  };
  return (
    <div className="tabs" role="tablist">
      {tabs.map((t, i) => (
        <button key={t.id} id={`tab-${t.id}`} role="tab" type="button" aria-selected={t.id === current} tabIndex={t.id === current ? 0 : -1} onClick={() => onSelect(t.id)} onKeyDown={(e) => onKey(e, i)}>
          {t.label}
        </button>
      ))}
    </div>
  );
}
