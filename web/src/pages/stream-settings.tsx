// A stream's settings: sender domains, IP pool, validity, tracking, whether the quarantine
// and the denylist apply, List-Unsubscribe. Operators change them (messages sent from then
// on follow them; those already in the MTA keep theirs); viewers read them.
import { useState, type FormEvent } from 'react';
import { api } from '../api.ts';
import { Card, ErrorBanner } from '../components/ui.tsx';
import { duration } from '../format.ts';
import { useSession } from '../session.tsx';
import type { Stream } from '../types.ts';

/** "2d", "6h", "30m": the shortest exact way to write the validity back into the form. */
const validityText = (s: number) => (s % 86_400 === 0 ? `${s / 86_400}d` : s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`);

export function StreamSettings({ s, onSaved }: { s: Stream; onSaved: (s: Stream) => void }) {
  const { can } = useSession();
  const edit = can('operator');
  const initial = { name: s.name, fromDomains: s.fromDomains.join(', '), ipPool: s.ipPool ?? '', validity: validityText(s.validitySeconds), tracking: s.tracking, applyQuarantine: s.applyQuarantine, listUnsubscribe: s.listUnsubscribe };
  const [f, setF] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const changed = JSON.stringify(f) !== JSON.stringify(initial);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    setBusy(true);
    try {
      const body = { name: f.name, fromDomains: f.fromDomains.split(/[\s,]+/).filter(Boolean), ipPool: f.ipPool.trim() || null, validity: f.validity.trim(), tracking: f.tracking, applyQuarantine: f.applyQuarantine, listUnsubscribe: f.listUnsubscribe };
      onSaved(await api<Stream>('PATCH', `/streams/${s.id}`, body));
      setSaved(true);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const toggle = (k: 'tracking' | 'applyQuarantine' | 'listUnsubscribe', label: string, help: string) => (
    <label className="switch-row span2">
      <input type="checkbox" role="switch" name={k} checked={f[k]} disabled={!edit} onChange={(e) => setF({ ...f, [k]: e.target.checked })} />
      <span>
        {label}
        <span className="small muted"> · {help}</span>
      </span>
    </label>
  );
  return (
    <Card title="Settings">
      <ErrorBanner error={error} />
      {saved && <div className="banner success" role="status">Saved: messages sent from now on follow these settings.</div>}
      <form className="settings-grid" onSubmit={save} aria-label="Stream settings">
        <label>
          Name
          <input name="name" required value={f.name} disabled={!edit} onChange={(e) => setF({ ...f, name: e.target.value })} />
        </label>
        <label>
          From domains <span className="req">comma-separated: a From address must use one</span>
          <input name="fromDomains" required value={f.fromDomains} disabled={!edit} onChange={(e) => setF({ ...f, fromDomains: e.target.value })} />
        </label>
        <label>
          IP pool <span className="req">empty: the default pool</span>
          <input name="ipPool" value={f.ipPool} disabled={!edit} placeholder="default" onChange={(e) => setF({ ...f, ipPool: e.target.value })} />
        </label>
        <label>
          Validity <span className="req">how long the MTA tries a message, now {duration(s.validitySeconds * 1000)}</span>
          <input name="validity" required value={f.validity} disabled={!edit} placeholder="2d" onChange={(e) => setF({ ...f, validity: e.target.value })} />
        </label>
        {toggle('tracking', 'Track opens and clicks', 'an open pixel and tracked links in HTML messages')}
        {toggle('applyQuarantine', 'Apply the quarantine and the denylist', 'quarantined and denylisted recipients are refused, as for a delivery')}
        {toggle('listUnsubscribe', 'Add List-Unsubscribe', 'for messages people may subscribe to; leave off for receipts and password resets')}
        {edit && (
          <div className="form-actions span2">
            <button type="button" disabled={!changed || busy} onClick={() => setF(initial)}>
              Undo changes
            </button>
            <button type="submit" className="primary" disabled={!changed || busy}>
              Save settings
            </button>
          </div>
        )}
      </form>
    </Card>
  );
}
