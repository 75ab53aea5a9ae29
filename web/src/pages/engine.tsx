// The delivery engine, live (it reads again every few seconds while shown): the ready queues
// per MX site and sending IP with their limits and state, the adaptations in force (with
// cancel) and those that ended, the sending IPs with their warm-up, and the failure texts
// waiting to be qualified. Columns are written for each table, never taken from the answer's
// keys, so a new field in the API does not become a new column named after a variable.
import { useState } from 'react';
import { api, get, post } from '../api.ts';
import { Card, Dialog, Empty, ErrorBanner } from '../components/ui.tsx';
import { clock, n, when } from '../format.ts';
import { usePoll } from '../live.ts';
import { useSession } from '../session.tsx';
import type { Adaptation, AdaptationList, MtaQueues, Qualification, QualificationList, SendingIps } from '../types.ts';

const EVERY_MS = 4000;

const sourceName = (s: string | null) => s ?? 'default IP';
const perHour = (perMinute: number | null, perHour: number | null) =>
  perMinute !== null ? `${n(Math.round(perMinute))} / min` : perHour !== null ? `${n(Math.round(perHour))} / h` : 'no rate limit';

/** What an adaptation does, in words. */
const effect = (a: Pick<Adaptation, 'action' | 'factor'>) =>
  a.action === 'suspend' ? 'Suspended' : a.action === 'throttle' && a.factor !== null ? `Throttled to ${Math.round(a.factor * 100)} %` : a.action;

function LiveNote({ at, error }: { at: number | null; error: Error | null }) {
  return <span className={`live ${error ? '' : 'on'}`}>{error ? 'not updating' : at ? `live · ${clock(at)}` : 'loading…'}</span>;
}

function Queues() {
  const { data, error, at } = usePoll(() => get<MtaQueues>('/mta/queues'), [], EVERY_MS);
  return (
    <Card title="Queues per provider site and sending IP" actions={<LiveNote at={at} error={error} />}>
      <ErrorBanner error={error} />
      {data && (
        <p className="meta small" data-testid="spool">
          <span>{data.running ? `MTA running (${n(data.mtaProcesses)} process${data.mtaProcesses === 1 ? '' : 'es'} on this database)` : 'The MTA role does not run in this process'}</span>
          <span>{n(data.spool.total)} messages in the spool</span>
          <span>{n(data.spool.due)} due now</span>
          <span>{n(data.inFlight)} being sent</span>
          <span>{n(data.spool.held)} held (paused or stopped deliveries)</span>
          {data.spool.oldestCreatedAt && <span>oldest since {when(data.spool.oldestCreatedAt)}</span>}
          <span>
            since start: {n(data.totals.delivered)} delivered, {n(data.totals.deferred)} deferred, {n(data.totals.bounced)} bounced, {n(data.totals.expired)} expired
          </span>
        </p>
      )}
      {data && !data.queues.length && <Empty>No message is waiting in a queue.</Empty>}
      {data && data.queues.length > 0 && (
        <table className="grid" data-table="queues">
          <thead>
            <tr>
              <th>MX site</th>
              <th>MX rule</th>
              <th>Sending IP</th>
              <th className="num">Queued</th>
              <th className="num">Connections</th>
              <th className="num">Rate allowed</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {data.queues.map((q) => (
              <tr key={`${q.site}|${q.source ?? ''}`}>
                <td className="mono small">{q.site}</td>
                <td>{q.rule}</td>
                <td className="mono small nowrap">{sourceName(q.source)}</td>
                <td className="num">{n(q.queued)}</td>
                <td className="num">
                  {n(q.connections)} of {n(q.maxConnectionsPerPath)}
                </td>
                <td className="num">{perHour(q.messagesPerMinute, q.messagesPerHour)}</td>
                <td className="nowrap">
                  {q.suspendedUntil ? (
                    <span className="badge tone-red">Suspended until {clock(q.suspendedUntil)}</span>
                  ) : q.factor < 1 ? (
                    <span className="badge tone-amber">Throttled to {Math.round(q.factor * 100)} %</span>
                  ) : (
                    <span className="badge tone-green">Normal</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function Adaptations({ onError }: { onError: (m: string) => void }) {
  const { can } = useSession();
  const { data, error, at, reload } = usePoll(() => get<AdaptationList>('/mta/adaptations?all=true'), [], EVERY_MS);
  const now = Date.now();
  const inForce = (a: Adaptation) => !a.cancelledAt && Date.parse(a.until) > now;
  const current = data?.adaptations.filter(inForce) ?? [];
  const past = data?.adaptations.filter((a) => !inForce(a)) ?? [];
  const row = (a: Adaptation, live: boolean) => (
    <tr key={a.id} data-adaptation={a.id}>
      <td className="mono small">{a.site}</td>
      <td className="mono small nowrap">{sourceName(a.source)}</td>
      <td className="small nowrap" title={a.action === 'throttle' ? "share of the MX rule's rate and connections allowed" : 'no connection until it ends'}>{effect(a)}</td>
      <td className="clip small" title={`${a.rule}: ${a.reason}`}>
        <span className="strong">{a.rule}</span> · <span className="mono">{a.reason}</span>
      </td>
      <td className="nowrap small">{when(a.since)}</td>
      <td className="nowrap small">{a.cancelledAt ? `cancelled ${when(a.cancelledAt)}${a.cancelledBy ? ` by ${a.cancelledBy}` : ''}` : when(a.until)}</td>
      {live && can('operator') && (
        <td className="actions-col">
          <button type="button" aria-label={`Cancel adaptation ${a.id}`} onClick={() => api('DELETE', `/mta/adaptations/${a.id}`).then(reload, (e: Error) => onError(e.message))}>
            Cancel
          </button>
        </td>
      )}
    </tr>
  );
  const head = (live: boolean) => (
    <thead>
      <tr>
        <th>MX site</th>
        <th>Sending IP</th>
        <th>Effect</th>
        <th>Why (rule · reply)</th>
        <th>Since</th>
        <th>{live ? 'Until' : 'Ended'}</th>
        {live && can('operator') && <th className="actions-col">Action</th>}
      </tr>
    </thead>
  );
  return (
    <>
      <Card title="Adaptations in force" actions={<LiveNote at={at} error={error} />}>
        <ErrorBanner error={error} />
        {data && !current.length && <Empty>No adaptation in force: every site has its normal limits.</Empty>}
        {current.length > 0 && (
          <table className="grid" data-table="adaptations">
            {head(true)}
            <tbody>{current.map((a) => row(a, true))}</tbody>
          </table>
        )}
      </Card>
      <Card title="Adaptations that ended">
        {data && !past.length && <Empty>No adaptation has ended yet.</Empty>}
        {past.length > 0 && (
          <table className="grid" data-table="adaptation-history">
            {head(false)}
            <tbody>{past.map((a) => row(a, false))}</tbody>
          </table>
        )}
      </Card>
    </>
  );
}

function SendingIpsCard() {
  const { data, error } = usePoll(() => get<SendingIps>('/mta/ips'), [], 15_000);
  const ips = data?.pools.flatMap((p) => p.ips.map((ip) => ({ pool: p.name, ...ip }))) ?? [];
  return (
    <Card title="Sending IPs and warm-up">
      <ErrorBanner error={error} />
      {data && !ips.length && <Empty>The MTA role does not run in this process.</Empty>}
      {ips.length > 0 && (
        <table className="grid" data-table="ips">
          <thead>
            <tr>
              <th>Pool</th>
              <th>Address</th>
              <th>HELO name</th>
              <th className="num">Weight</th>
              <th>Warm-up</th>
              <th>Sent today per provider</th>
            </tr>
          </thead>
          <tbody>
            {ips.map((ip) => {
              const sent = Object.entries(ip.sentToday);
              return (
                <tr key={`${ip.pool}|${ip.address ?? ''}`}>
                  <td>{ip.pool}</td>
                  <td className="mono small">{ip.address ?? 'default (the system picks)'}</td>
                  <td className="mono small">{ip.helo ?? '–'}</td>
                  <td className="num">{n(ip.weight)}</td>
                  <td className="small">{ip.warmup ? `${ip.warmup.plan}, day ${n(ip.warmup.day)}${ip.warmup.capPerProvider !== null ? `: up to ${n(ip.warmup.capPerProvider)} per provider today` : ''}` : 'No warm-up: full rate'}</td>
                  <td className="small">
                    {sent.length ? sent.map(([provider, count]) => <span key={provider} className="tag">{provider} {n(count)}</span>) : <span className="muted">nothing yet</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Card>
  );
}

const REASONS = ['User unknown', 'Invalid domain', 'Unreachable', 'Account disabled', 'Mailbox full', 'Refused', 'Not defined'];

function ToQualify({ onError }: { onError: (m: string) => void }) {
  const { can } = useSession();
  const { data, error, reload } = usePoll(() => get<QualificationList>('/bounces/qualifications?status=to-qualify'), [], 10_000);
  const [qualifying, setQualifying] = useState<Qualification | null>(null);
  const [form, setForm] = useState({ failureType: 'Soft', failureReason: 'Unreachable', status: 'keep' });
  const save = async () => {
    if (!qualifying) return;
    try {
      await post('/bounces/qualifications/requalify', { key: qualifying.key, ...form });
      reload();
      setQualifying(null);
    } catch (e) {
      onError((e as Error).message);
    }
  };
  return (
    <Card title="Replies to qualify">
      <ErrorBanner error={error} />
      {data && !data.entries.length && <Empty>No failure text waiting to be qualified.</Empty>}
      {data && data.entries.length > 0 && (
        <table className="grid" data-table="to-qualify">
          <thead>
            <tr>
              <th>Failure text</th>
              <th>Where</th>
              <th className="num">Times</th>
              <th>First seen</th>
              <th>Last seen</th>
              {can('operator') && <th className="actions-col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {data.entries.map((q) => (
              <tr key={q.key}>
                <td className="clip mono small" title={q.firstText}>{q.firstText}</td>
                <td className="nowrap small">{q.source === 'async' ? 'Bounce mail' : 'SMTP reply'}</td>
                <td className="num">{n(q.occurrences)}</td>
                <td className="nowrap small">{when(q.firstSeen)}</td>
                <td className="nowrap small">{when(q.lastSeen)}</td>
                {can('operator') && (
                  <td className="actions-col">
                    <button type="button" onClick={() => setQualifying(q)}>
                      Qualify…
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog
        open={qualifying !== null}
        title="Qualify a failure text"
        onClose={() => setQualifying(null)}
        footer={
          <>
            <button type="button" onClick={() => setQualifying(null)}>Cancel</button>
            <button type="button" className="primary" onClick={save}>Save</button>
          </>
        }
      >
        <p className="mono small">{qualifying?.firstText}</p>
        <div className="form-grid">
          <label>
            Failure type
            <select value={form.failureType} onChange={(e) => setForm({ ...form, failureType: e.target.value })}>
              {['Hard', 'Soft', 'Ignored'].map((t) => <option key={t}>{t}</option>)}
            </select>
          </label>
          <label>
            Failure reason
            <select value={form.failureReason} onChange={(e) => setForm({ ...form, failureReason: e.target.value })}>
              {REASONS.map((t) => <option key={t}>{t}</option>)}
            </select>
          </label>
          <label>
            Quarantine effect
            <select value={form.status} onChange={(e) => setForm({ ...form, status: e.target.value })}>
              <option value="keep">Apply the type and reason</option>
              <option value="ignore">Ignore: never quarantines</option>
            </select>
          </label>
        </div>
      </Dialog>
    </Card>
  );
}

export function EnginePage() {
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Delivery engine</h1>
          <p className="muted">How the MTA shapes traffic per provider site and sending IP, and what it learned from the replies. Updated every few seconds.</p>
        </div>
      </header>
      <ErrorBanner error={error} />
      <Queues />
      <Adaptations onError={setError} />
      <SendingIpsCard />
      <ToQualify onError={setError} />
    </div>
  );
}
