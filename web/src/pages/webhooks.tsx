// Webhook endpoints (admins): each receives signed POSTs of what happens to messages. The
// list says what each endpoint wants (event types; all traffic, a stream or a delivery) and
// whether it works (enabled, failing with its next try, or disabled and why). Creating one
// shows its signing secret once. An endpoint's page has its recent attempts (time, events,
// status, latency, error), a "Send test event" button that shows what the receiver
// answered, enabling again, and the replay of a window. Reads again every 5 s.
import { useState, type FormEvent } from 'react';
import { api, get, post } from '../api.ts';
import { SecretDialog } from '../components/secret-dialog.tsx';
import { Card, Dialog, Empty, ErrorBanner, Notice } from '../components/ui.tsx';
import { n, relative, when } from '../format.ts';
import { useLoad, usePoll } from '../live.ts';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session.tsx';
import type { StreamList, WebhookAttempt, WebhookCreated, WebhookDetail, WebhookEndpoint, WebhookList, WebhookReplayed, WebhookTestResult } from '../types.ts';

// Spelled out (the schema file would bring zod into the bundle); `satisfies` breaks the type check when the API's list changes.
const EVENT_TYPES = ['delivered', 'deferred', 'bounced', 'expired', 'cancelled', 'bounced-async', 'complained', 'auto-replied', 'unsubscribed', 'opened', 'clicked'] as const satisfies readonly NonNullable<WebhookCreated['eventTypes']>[number][];
const REPLAY: [string, string, number][] = [['1h', 'the last hour', 3_600_000], ['24h', 'the last 24 hours', 86_400_000], ['7d', 'the last 7 days', 7 * 86_400_000]];

const eventsInWords = (w: WebhookEndpoint) => (w.eventTypes?.length ? w.eventTypes.join(', ') : 'every event type');

function StateOf({ w }: { w: WebhookEndpoint }) {
  if (!w.enabled) return <span className="badge tone-red" data-state="disabled" title={w.disabledReason ?? undefined}>Disabled</span>;
  if (w.failures) return <span className="badge tone-amber" data-state="failing">Failing</span>;
  return <span className="badge tone-green" data-state="enabled">Enabled</span>;
}

/** Why a failing or disabled endpoint is so, in a sentence. */
function stateText(w: WebhookEndpoint): string | null {
  if (!w.enabled) return w.disabledReason ? `Disabled: ${w.disabledReason}` : 'Disabled';
  if (!w.failures) return null;
  return `${n(w.failures)} failed attempt${w.failures === 1 ? '' : 's'} in a row${w.failingSince ? ` since ${when(w.failingSince)}` : ''}${w.nextAttemptAt ? `; next try ${relative(w.nextAttemptAt)}` : ''}`;
}

/** An attempt's outcome: "200", "500: broken", "no answer: timeout". */
const outcome = (a: Pick<WebhookAttempt, 'statusCode' | 'error'>) => (a.statusCode === null ? 'No answer' : a.statusCode >= 200 && a.statusCode < 300 ? `${a.statusCode} OK` : `HTTP ${a.statusCode}`);

export function WebhooksPage({ id }: { id?: number }) {
  const { can } = useSession();
  const list = usePoll(() => get<WebhookList>('/webhooks'), [], 5000);
  const streams = useLoad(() => get<StreamList>('/streams'), []);
  const [creating, setCreating] = useState(false);
  const [made, setMade] = useState<WebhookCreated | null>(null);
  if (!can('admin')) return <div className="page"><Notice>Only admins manage webhook endpoints: they send every recipient's events to a URL.</Notice></div>;
  const nameOf = (deliveryId: number | null) => {
    if (deliveryId === null) return 'All traffic';
    const s = streams.data?.streams.find((x) => x.id === deliveryId);
    return s ? `Stream ${s.name}` : `Delivery #${deliveryId}`;
  };
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Webhooks</h1>
          <p className="muted">Endpoints that receive a signed POST for each batch of events (delivered, bounced, opened…), retried until they answer 2xx.</p>
        </div>
        <div className="page-actions">
          <button type="button" className="primary" data-action="new-webhook" onClick={() => setCreating(true)}>
            New endpoint
          </button>
        </div>
      </header>
      <ErrorBanner error={list.error} />
      <Card title="Endpoints">
        {list.data && !list.data.webhooks.length ? (
          <Empty>No webhook endpoint yet. Add one to receive each message's events as they happen.</Empty>
        ) : (
          <table className="grid" data-table="webhooks">
            <thead>
              <tr>
                <th>URL</th>
                <th>Events</th>
                <th>Traffic</th>
                <th>State</th>
                <th className="num">Last event sent</th>
              </tr>
            </thead>
            <tbody>
              {list.data?.webhooks.map((w) => (
                <tr key={w.id} data-webhook={w.id} className={w.id === id ? 'selected' : undefined}>
                  <td className="clip" title={w.url}>
                    <Link to={`/webhooks/${w.id}`} className="mono">{w.url}</Link>
                  </td>
                  <td className="small">{eventsInWords(w)}</td>
                  <td className="nowrap">{nameOf(w.deliveryId)}</td>
                  <td>
                    <StateOf w={w} />
                    {stateText(w) && <div className="small muted">{stateText(w)}</div>}
                  </td>
                  <td className="num">{w.cursor ? `#${w.cursor}` : 'none yet'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {id !== undefined && <EndpointDetail key={id} id={id} scope={nameOf} onChanged={list.reload} />}
      <CreateDialog
        open={creating}
        streams={streams.data?.streams ?? []}
        onClose={() => setCreating(false)}
        onCreated={(w) => {
          setCreating(false);
          setMade(w);
          list.reload();
          navigate(`/webhooks/${w.id}`);
        }}
      />
      <SecretDialog open={made !== null} title="Webhook endpoint created" label="Signing secret" secret={made?.secret ?? ''} onClose={() => setMade(null)}>
        <p className="small">Check each POST's Estafeta-Signature header with this secret (HMAC-SHA256 of the time stamp and the body; see docs/WEBHOOKS.md).</p>
      </SecretDialog>
    </div>
  );
}

function CreateDialog({ open, streams, onClose, onCreated }: { open: boolean; streams: StreamList['streams']; onClose: () => void; onCreated: (w: WebhookCreated) => void }) {
  const [url, setUrl] = useState('');
  const [types, setTypes] = useState<string[]>([]);
  const [scope, setScope] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const w = await post<WebhookCreated>('/webhooks', { url: url.trim(), eventTypes: types.length ? types : undefined, deliveryId: scope ? Number(scope) : undefined });
      setUrl('');
      setTypes([]);
      setScope('');
      onCreated(w);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <Dialog open={open} title="New webhook endpoint" onClose={onClose} wide>
      <form onSubmit={submit} className="form-grid" aria-label="New webhook endpoint">
        <ErrorBanner error={error} />
        <label className="span2">
          URL
          <input name="url" required type="url" placeholder="https://hooks.example.com/estafeta" value={url} onChange={(e) => setUrl(e.target.value)} />
        </label>
        <label className="span2">
          Traffic
          <select name="scope" value={scope} onChange={(e) => setScope(e.target.value)}>
            <option value="">All traffic (every delivery and stream)</option>
            {streams.map((s) => (
              <option key={s.id} value={s.id}>
                Stream {s.name}
              </option>
            ))}
          </select>
        </label>
        <fieldset className="span2 checks">
          <legend className="small">Event types (none ticked: every type)</legend>
          {EVENT_TYPES.map((t) => (
            <label key={t}>
              <input type="checkbox" name="eventType" value={t} checked={types.includes(t)} onChange={(e) => setTypes(e.target.checked ? [...types, t] : types.filter((x) => x !== t))} />
              {t}
            </label>
          ))}
        </fieldset>
        <div className="form-actions span2">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Create endpoint
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function EndpointDetail({ id, scope, onChanged }: { id: number; scope: (deliveryId: number | null) => string; onChanged: () => void }) {
  const detail = usePoll(() => get<WebhookDetail>(`/webhooks/${id}`), [id], 5000);
  const [test, setTest] = useState<WebhookTestResult | null>(null);
  const [replayed, setReplayed] = useState<string | null>(null);
  const [replayWindow, setReplayWindow] = useState('1h');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const run = async (fn: () => Promise<void>) => {
    setError(null);
    setBusy(true);
    try {
      await fn();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
      detail.reload();
      onChanged();
    }
  };
  const w = detail.data;
  if (!w) return detail.error ? <ErrorBanner error={detail.error} /> : null;
  const sendTest = () => run(async () => setTest(await post<WebhookTestResult>(`/webhooks/${id}/test`)));
  const replay = () =>
    run(async () => {
      const [, label, ms] = REPLAY.find(([k]) => k === replayWindow)!;
      const r = await post<WebhookReplayed>(`/webhooks/${id}/replay`, { from: new Date(Date.now() - ms).toISOString() });
      setReplayed(r.fromEventId === null ? `No event happened in ${label}: nothing to send again.` : `The events of ${label} (from event #${r.fromEventId} on) will be sent again, in order.`);
    });
  return (
    <>
      <Card
        title={`Endpoint #${w.id}`}
        actions={
          <>
            <button type="button" className="primary" data-action="test" disabled={busy} onClick={() => void sendTest()}>
              Send test event
            </button>
            {(!w.enabled || w.failures > 0) && (
              <button type="button" data-action="enable" disabled={busy} onClick={() => void run(async () => void (await post(`/webhooks/${id}/enable`)))}>
                {w.enabled ? 'Try again now' : 'Enable again'}
              </button>
            )}
            <button type="button" className="danger" disabled={busy} onClick={() => setDeleting(true)}>
              Delete
            </button>
          </>
        }
      >
        <ErrorBanner error={error} />
        {test && (
          <div className={`banner ${test.ok ? 'success' : 'error'} result`} role="status" data-testid="test-result">
            {test.ok ? 'The receiver accepted the test event' : 'The receiver refused the test event'}: {outcome(test)} in {n(test.latencyMs)} ms{test.error && !test.ok ? ` (${test.error})` : ''}.
          </div>
        )}
        <dl className="pairs">
          <dt>URL</dt>
          <dd className="mono">{w.url}</dd>
          <dt>Events</dt>
          <dd>{eventsInWords(w)}</dd>
          <dt>Traffic</dt>
          <dd>{scope(w.deliveryId)}</dd>
          <dt>State</dt>
          <dd>
            <StateOf w={w} /> {stateText(w)}
          </dd>
          <dt>Last event sent</dt>
          <dd>{w.cursor ? `#${w.cursor}` : 'none yet'}</dd>
          <dt>Created</dt>
          <dd>
            {when(w.createdAt)} by {w.createdBy}
          </dd>
        </dl>
        <form className="filters result" onSubmit={(e) => { e.preventDefault(); void replay(); }} aria-label="Replay">
          <label>
            Send again the events of
            <select name="replay" value={replayWindow} onChange={(e) => setReplayWindow(e.target.value)}>
              {REPLAY.map(([k, label]) => (
                <option key={k} value={k}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={busy}>
            Replay
          </button>
        </form>
        {replayed && <div className="banner info" role="status" data-testid="replay-result">{replayed}</div>}
      </Card>
      <Card title="Recent attempts">
        {!w.attempts.length ? (
          <Empty>No attempt yet: events are sent as they happen, or send a test event.</Empty>
        ) : (
          <table className="grid" data-table="attempts">
            <thead>
              <tr>
                <th>Time</th>
                <th>Events</th>
                <th className="num">Try</th>
                <th>Status</th>
                <th className="num">Latency</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {w.attempts.map((a) => (
                <tr key={a.id} data-attempt={a.id}>
                  <td className="small nowrap">{when(a.at)}</td>
                  <td className="nowrap">{a.attempt === 0 ? 'Test event' : `${n(a.events)} event${a.events === 1 ? '' : 's'}${a.firstEventId !== null ? ` (#${a.firstEventId}${a.lastEventId !== a.firstEventId ? `–#${a.lastEventId}` : ''})` : ''}`}</td>
                  <td className="num">{a.attempt === 0 ? '–' : n(a.attempt)}</td>
                  <td>
                    <span className={`badge ${a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300 ? 'tone-green' : 'tone-red'}`}>{outcome(a)}</span>
                  </td>
                  <td className="num">{n(Math.round(a.latencyMs))} ms</td>
                  <td className="clip small" title={a.error ?? undefined}>{a.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <Dialog
        open={deleting}
        title="Delete the endpoint"
        onClose={() => setDeleting(false)}
        footer={
          <>
            <button type="button" onClick={() => setDeleting(false)}>
              Cancel
            </button>
            <button type="button" className="danger" onClick={() => void api('DELETE', `/webhooks/${id}`).then(() => { setDeleting(false); onChanged(); navigate('/webhooks'); }, (e: Error) => setError(e.message))}>
              Delete
            </button>
          </>
        }
      >
        <p>
          <span className="mono">{w.url}</span> receives no more events, and its attempts are deleted.
        </p>
      </Dialog>
    </>
  );
}
