// Creating a delivery: sender, subject, content and recipients (a CSV file with an "email"
// column), and whether opens and clicks are tracked. Recipients travel with the delivery,
// so a broken file creates nothing.
import { useState, type FormEvent } from 'react';
import { post } from '../api.ts';
import { Card, ErrorBanner } from '../components/ui.tsx';
import { Link, navigate } from '../router.tsx';
import { bytes } from '../format.ts';
import type { DeliveryDetail } from '../types.ts';

export function NewDeliveryPage() {
  const [f, setF] = useState({ label: '', fromName: '', fromAddress: '', replyTo: '', subject: '', html: '', text: '', validity: '3.5d' });
  const [csv, setCsv] = useState<{ name: string; text: string; rows: number } | null>(null);
  const [tracking, setTracking] = useState(true);
  const [trackTextLinks, setTrackTextLinks] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });

  const pick = async (file: File | undefined) => {
    if (!file) return setCsv(null);
    const text = await file.text();
    setCsv({ name: `${file.name} (${bytes(file.size)})`, text, rows: Math.max(0, text.split(/\r?\n/).filter((l) => l.trim()).length - 1) });
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const d = await post<DeliveryDetail>('/deliveries', {
        label: f.label || undefined,
        from: { name: f.fromName, address: f.fromAddress },
        replyTo: f.replyTo || undefined,
        subject: f.subject,
        html: f.html || undefined,
        text: f.text || undefined,
        validity: f.validity || undefined,
        tracking,
        trackTextLinks: tracking && trackTextLinks,
        recipientsCsv: csv?.text,
      });
      navigate(`/deliveries/${d.id}`);
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  return (
    <div className="page narrow">
      <header className="page-head">
        <div>
          <p className="crumbs">
            <Link to="/deliveries">Deliveries</Link> /
          </p>
          <h1>New delivery</h1>
        </div>
      </header>
      <form onSubmit={submit}>
        <ErrorBanner error={error} />
        <Card title="Message">
          <div className="form-grid">
            <label className="span2">
              Label
              <input name="label" value={f.label} onChange={set('label')} placeholder="Autumn sale" />
            </label>
            <label>
              Sender name
              <input name="fromName" value={f.fromName} onChange={set('fromName')} placeholder="Shop" />
            </label>
            <label>
              Sender address <span className="req">required</span>
              <input name="fromAddress" type="email" required value={f.fromAddress} onChange={set('fromAddress')} placeholder="news@shop.example" />
            </label>
            <label>
              Reply-to
              <input name="replyTo" type="email" value={f.replyTo} onChange={set('replyTo')} />
            </label>
            <label>
              Validity period
              <input name="validity" value={f.validity} onChange={set('validity')} aria-describedby="validity-help" />
              <span id="validity-help" className="small muted">How long soft bounces are retried: 3.5d, 36h…</span>
            </label>
            <label className="span2">
              Subject <span className="req">required</span>
              <input name="subject" required value={f.subject} onChange={set('subject')} placeholder="Hello {{ firstName }}" />
            </label>
            <label className="span2">
              HTML content
              <textarea name="html" rows={7} value={f.html} onChange={set('html')} placeholder={'<p>Hello {{ firstName }}</p>\n<a href="{{ unsubscribeUrl }}">Unsubscribe</a>'} />
            </label>
            <label className="span2">
              Text content
              <textarea name="text" rows={4} value={f.text} onChange={set('text')} placeholder={'Hello {{ firstName }}\nUnsubscribe: {{ unsubscribeUrl }}'} />
            </label>
          </div>
          <p className="small muted">Personalization uses Liquid: {'{{ firstName }}'}, {'{{ city | default: "your city" }}'}. Include {'{{ unsubscribeUrl }}'} in each content.</p>
        </Card>
        <Card title="Tracking">
          <label className="inline">
            <input type="checkbox" role="switch" name="tracking" checked={tracking} onChange={(e) => setTracking(e.target.checked)} aria-describedby="tracking-help" />
            Track opens and clicks
          </label>
          <p id="tracking-help" className="small muted">
            Links of the HTML part lead through a signed redirect and an invisible image counts opens. Off: the content goes out exactly as written. A link with data-estafeta-track="off" is never tracked.
          </p>
          <label className="inline">
            <input type="checkbox" role="switch" name="trackTextLinks" checked={tracking && trackTextLinks} disabled={!tracking} onChange={(e) => setTrackTextLinks(e.target.checked)} aria-describedby="text-links-help" />
            Track links in the text part
          </label>
          <p id="text-links-help" className="small muted">
            Off by default: the text part keeps its links readable. On, they read as redirect URLs.
          </p>
        </Card>
        <Card title="Recipients">
          <label>
            CSV file with an “email” column; other columns are personalization fields
            <input name="recipients" type="file" accept=".csv,text/csv,text/plain" onChange={(e) => pick(e.target.files?.[0])} />
          </label>
          {csv && (
            <p className="small" data-testid="csv-summary">
              {csv.name}: {csv.rows} data rows
            </p>
          )}
        </Card>
        <div className="form-actions">
          <Link to="/deliveries" className="button">
            Cancel
          </Link>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create delivery'}
          </button>
        </div>
      </form>
    </div>
  );
}
