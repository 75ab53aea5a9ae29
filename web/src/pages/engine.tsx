// The delivery engine: per provider site and sending IP the queue, rates and connections;
// adaptations in force (with cancel); IP warm-up; and failure texts waiting to be qualified.
// Each part reads its own endpoint and says so when this version does not have it.
import { useState } from 'react';
import { api, ApiError, get, post } from '../api.ts';
import { Card, Dialog, Empty, ErrorBanner, Notice } from '../components/ui.tsx';
import { n, when } from '../format.ts';
import { useLoad } from '../live.ts';
import { useSession } from '../session.tsx';
import type { SendingIps } from '../types.ts';

type Row = Record<string, unknown>;

/** The rows of an answer: the first array it carries ({sites: [...]}, {entries: [...]}, or an array). */
const rowsOf = (data: unknown): Row[] => (Array.isArray(data) ? data : (Object.values((data ?? {}) as Row).find(Array.isArray) as Row[] | undefined) ?? []);
const label = (k: string) => k.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
const cell = (v: unknown) =>
  v === null || v === undefined ? '' : typeof v === 'number' ? n(v) : typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? when(v) : typeof v === 'object' ? JSON.stringify(v) : String(v);

interface SectionProps {
  title: string;
  /** Endpoints to try in order: the first that exists is shown. */
  paths: string[];
  rows?: (data: unknown) => Row[];
  empty?: string;
  actions?: (row: Row, reload: () => void) => React.ReactNode;
}

async function firstAvailable(paths: string[]): Promise<unknown> {
  for (const [i, p] of paths.entries()) {
    try {
      return await get<unknown>(p);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404) || i === paths.length - 1) throw e;
    }
  }
}

/** Sending IPs with their pool and warm-up day, one row each. */
const ipRows = (data: unknown): Row[] =>
  ((data as Partial<SendingIps> | null)?.pools ?? []).flatMap((p) =>
    p.ips.map((ip) => {
      const w = ip.warmup;
      const sent = Object.entries(ip.sentToday ?? {}).map(([k, v]) => `${k}: ${n(v)}`).join(', ');
      return { pool: p.name, address: ip.address ?? 'default', helo: ip.helo, weight: ip.weight, warmUp: w ? `${w.plan}, day ${w.day}` : 'none', capPerProvider: w?.capPerProvider ?? null, sentToday: sent || '0' };
    }),
  );

function Section({ title, paths, rows: toRows = rowsOf, empty = 'Nothing to show.', actions }: SectionProps) {
  const { data, error, reload } = useLoad(() => firstAvailable(paths), [paths.join()]);
  const rows = data === undefined ? [] : toRows(data);
  const columns = [...new Set(rows.slice(0, 20).flatMap((r) => Object.keys(r)))].slice(0, 9);
  return (
    <Card title={title} actions={<button type="button" onClick={reload}>Refresh</button>}>
      {error instanceof ApiError && error.status === 404 ? (
        <Notice>Not available in this version.</Notice>
      ) : (
        <>
          <ErrorBanner error={error} />
          {data !== undefined && !rows.length && <Empty>{empty}</Empty>}
          {rows.length > 0 && (
            <div className="scroll-x">
              <table className="grid">
                <thead>
                  <tr>
                    {columns.map((c) => (
                      <th key={c}>{label(c)}</th>
                    ))}
                    {actions && <th>Action</th>}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r, i) => (
                    <tr key={String(r.id ?? r.key ?? i)}>
                      {columns.map((c) => (
                        <td key={c} className={typeof r[c] === 'number' ? 'num' : 'small'}>
                          {cell(r[c])}
                        </td>
                      ))}
                      {actions && <td>{actions(r, reload)}</td>}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </Card>
  );
}

const REASONS = ['User unknown', 'Invalid domain', 'Unreachable', 'Account disabled', 'Mailbox full', 'Refused', 'Not defined'];

export function EnginePage() {
  const { can } = useSession();
  const [qualifying, setQualifying] = useState<{ row: Row; reload: () => void } | null>(null);
  const [form, setForm] = useState({ failureType: 'Soft', failureReason: 'Unreachable', status: 'keep' });
  const [error, setError] = useState<string | null>(null);
  const saveQualification = async () => {
    if (!qualifying) return;
    try {
      await post('/bounces/qualifications/requalify', { key: qualifying.row.key, ...form });
      qualifying.reload();
      setQualifying(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Delivery engine</h1>
          <p className="muted">How the MTA shapes traffic per provider site and sending IP, and what it learned from the replies.</p>
        </div>
      </header>
      <Section title="Provider sites and sending IPs" paths={['/mta/sites', '/mta/queues']} empty="No message is waiting in a queue." />
      <Section
        title="Adaptations in force"
        paths={['/mta/adaptations']}
        empty="No adaptation in force: every site has its normal limits."
        actions={
          can('operator')
            ? (row, reload) => (
                <button type="button" aria-label={`Cancel adaptation ${String(row.id)}`} onClick={() => api('DELETE', `/mta/adaptations/${String(row.id)}`).then(reload, (e: Error) => setError(e.message))}>
                  Cancel
                </button>
              )
            : undefined
        }
      />
      <Section title="Sending IPs and warm-up" paths={['/mta/ips']} rows={ipRows} />
      <ErrorBanner error={error} />
      <Section
        title="Replies to qualify"
        paths={['/bounces/qualifications?status=to-qualify']}
        empty="No failure text waiting to be qualified."
        actions={can('operator') ? (row, reload) => <button type="button" onClick={() => setQualifying({ row, reload })}>Qualify…</button> : undefined}
      />
      <Dialog
        open={qualifying !== null}
        title="Qualify a failure text"
        onClose={() => setQualifying(null)}
        footer={
          <>
            <button type="button" onClick={() => setQualifying(null)}>Cancel</button>
            <button type="button" className="primary" onClick={saveQualification}>Save</button>
          </>
        }
      >
        <p className="mono small">{String(qualifying?.row.firstText ?? qualifying?.row.key ?? '')}</p>
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
    </div>
  );
}
