/**
 * The per-recipient pass of the analysis: reads the target in chunks, excludes recipients
 * with Campaign's reasons (Address not specified, Bad-quality address for a malformed one,
 * Double, Address in quarantine, Denylisted address), renders the personalization for the
 * others, and writes one delivery log per recipient. Memory holds one chunk plus the set
 * of addresses already seen (for duplicates).
 *
 * Rendering has a budget for the whole pass, not per recipient: on average RENDER_BUDGET
 * per message (what the sender will spend), past a first allowance. A template over it is
 * rendered no further (the report says what one message costs), and the pass gives the
 * event loop a turn every few milliseconds, so the MTA and the bounce listener, which
 * share the thread, never wait long; the per-render limit in template.ts bounds one render.
 */
import { performance } from 'node:perf_hooks';
import type { Q } from '../db/index.ts';
import { insertLogs } from '../deliveries/log-writes.ts';
import { checkAddress } from '../mail/address.ts';
import type { FailureReason } from '../mail/failure.ts';
import { failureReasonCode, failureTypeCode, LogStatus } from '../deliveries/log-status.ts';
import { missingFields, RENDER_LIMIT_MS, type CompiledTemplate } from '../deliveries/template.ts';
import { EXCLUDING_STATUSES, QuarantineStatus } from '../quarantine/status.ts';
import { timeSlice } from '../lib/time-slice.ts';

export interface PassTemplates {
  subject: CompiledTemplate;
  html: CompiledTemplate | null;
  text: CompiledTemplate | null;
}

export interface PassResult {
  targeted: number;
  toDeliver: number;
  excludedByReason: Map<FailureReason, number>;
  personalizationErrors: { count: number; samples: string[]; fields: Map<string, number> };
  renderErrors: { count: number; samples: string[] };
  maxSize: number;
  maxSizeSample: string | null;
  totalSize: number;
  domains: Map<string, number>;
  /** Time spent rendering, over how many recipients; `exceeded` once over the budget (rendering then stops). */
  renderCost: { ms: number; rendered: number; exceeded: boolean };
}

/**
 * The sender renders every message on the main thread: 5 ms per message on average keeps
 * a million-recipient delivery to some 80 minutes of rendering, spread out in slices. The
 * allowance covers a first render's warm-up (compiling the code paths it takes).
 */
export const RENDER_BUDGET = { averageMs: 5, allowanceMs: 250 } as const;

const CHUNK = 5000;
const SAMPLE_LIMIT = 10;
/** Headers, MIME structure and encoding overhead added to the rendered parts. */
const ENVELOPE_OVERHEAD = 900;

export async function runTargetPass(q: Q, deliveryId: number, templates: PassTemplates, onProgress: (done: number) => void): Promise<PassResult> {
  const result: PassResult = {
    targeted: 0,
    toDeliver: 0,
    excludedByReason: new Map(),
    personalizationErrors: { count: 0, samples: [], fields: new Map() },
    renderErrors: { count: 0, samples: [] },
    maxSize: 0,
    maxSizeSample: null,
    totalSize: 0,
    domains: new Map(),
    renderCost: { ms: 0, rendered: 0, exceeded: false },
  };
  const slice = timeSlice();
  const seen = new Set<string>();
  const now = Date.now();
  let lastRow = 0;
  for (;;) {
    const rows = await q.selectFrom('delivery_targets').select(['row_no', 'email', 'data']).where('delivery_id', '=', deliveryId).where('row_no', '>', lastRow).orderBy('row_no').limit(CHUNK).execute();
    if (rows.length === 0) break;
    lastRow = rows[rows.length - 1].row_no;
    const checked = rows.map((r) => ({ row: r, check: checkAddress(r.email) }));
    const quarantined = await quarantineStatuses(q, checked.flatMap((c) => (c.check.ok ? [c.check.address.toLowerCase()] : [])));
    const toLog = ({ row, check }: (typeof checked)[number]) => {
      result.targeted++;
      const base = { delivery_id: deliveryId, row_no: row.row_no, attempts: 0, event_at: now, created_at: now, updated_at: now };
      const exclude = (reason: FailureReason, address: string, domain: string, failureType: 'Hard' | 'Ignored') => {
        result.excludedByReason.set(reason, (result.excludedByReason.get(reason) ?? 0) + 1);
        return { ...base, address, domain, status: LogStatus.Ignored, failure_type: failureTypeCode(failureType), failure_reason: failureReasonCode(reason), reply: null as string | null };
      };
      if (!check.ok) {
        const raw = (row.email ?? '').trim();
        return check.reason === 'empty' ? exclude('Address not specified', '', '', 'Hard') : exclude('Bad-quality address', raw, raw.slice(raw.lastIndexOf('@') + 1).toLowerCase(), 'Ignored');
      }
      const key = check.address.toLowerCase();
      if (seen.has(key)) return exclude('Double', check.address, check.domain, 'Ignored');
      seen.add(key);
      const q8 = quarantined.get(key);
      if (q8 === QuarantineStatus.Denylisted) return exclude('Denylisted address', check.address, check.domain, 'Hard');
      if (q8 === QuarantineStatus.Quarantine) return exclude('Address in quarantine', check.address, check.domain, 'Hard');
      result.domains.set(check.domain, (result.domains.get(check.domain) ?? 0) + 1);
      const problem = personalize(templates, check.address, JSON.parse(row.data), result);
      if (problem) {
        return { ...base, address: check.address, domain: check.domain, status: LogStatus.Failed, failure_type: failureTypeCode('Ignored'), failure_reason: failureReasonCode('Unreachable'), reply: problem };
      }
      result.toDeliver++;
      return { ...base, address: check.address, domain: check.domain, status: LogStatus.Pending, failure_type: 0, failure_reason: null, reply: null };
    };
    const logs = [];
    // SQLite queries resolve without giving the event loop a turn: start each chunk with one.
    await slice.yield();
    for (const c of checked) {
      if (slice.due()) await slice.yield();
      logs.push(toLog(c));
    }
    await insertLogs(q, logs);
    onProgress(result.targeted);
  }
  return result;
}

/** Renders one recipient's message; returns a problem description or null. */
function personalize(t: PassTemplates, address: string, data: Record<string, unknown>, result: PassResult): string | null {
  const scope = { ...data, email: address, unsubscribeUrl: 'https://unsubscribe.invalid/xxxxxxxxxxxxxxxxxxxxxx' };
  const missing = [...new Set([t.subject, t.html, t.text].flatMap((tpl) => (tpl ? missingFields(tpl, scope) : [])))];
  if (missing.length) {
    const pe = result.personalizationErrors;
    pe.count++;
    for (const f of missing) pe.fields.set(f, (pe.fields.get(f) ?? 0) + 1);
    if (pe.samples.length < SAMPLE_LIMIT) pe.samples.push(`${address}: ${missing.join(', ')}`);
    return `Personalization error: missing field ${missing.join(', ')}`;
  }
  const cost = result.renderCost;
  if (cost.exceeded) return null;
  const start = performance.now();
  try {
    let size: number;
    try {
      size = messageSize(t, scope);
    } catch (err) {
      // The deadline is wall-clock time: a garbage collection or a busy machine can stretch one
      // render of content that is otherwise fast. Such content gets one more try; content
      // slow from the start (or on average) does not.
      if (!isRenderLimit(err) || cost.rendered === 0 || cost.ms / cost.rendered >= RENDER_BUDGET.averageMs) throw err;
      size = messageSize(t, scope);
    }
    result.totalSize += size;
    if (size > result.maxSize) {
      result.maxSize = size;
      result.maxSizeSample = address;
    }
    return null;
  } catch (err) {
    const message = isRenderLimit(err) ? `rendering the message takes more than ${RENDER_LIMIT_MS} ms, the limit per message` : (err as Error).message;
    const re = result.renderErrors;
    re.count++;
    if (re.samples.length < SAMPLE_LIMIT) re.samples.push(`${address}: ${message}`);
    return `Personalization error: ${message}`;
  } finally {
    cost.ms += performance.now() - start;
    cost.rendered++;
    if (cost.ms > RENDER_BUDGET.allowanceMs + RENDER_BUDGET.averageMs * cost.rendered) cost.exceeded = true;
  }
}

/** The message's size in bytes, about: its parts rendered under one deadline (RENDER_LIMIT_MS). */
function messageSize(t: PassTemplates, scope: Record<string, unknown>): number {
  const start = performance.now();
  const left = () => Math.max(1, RENDER_LIMIT_MS - (performance.now() - start));
  return ENVELOPE_OVERHEAD + t.subject.render(scope, left()).length + Math.ceil(((t.html?.render(scope, left()).length ?? 0) + (t.text?.render(scope, left()).length ?? 0)) * 1.04);
}

const isRenderLimit = (err: unknown) => /render limit exceeded/.test((err as Error).message);

async function quarantineStatuses(q: Q, addresses: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < addresses.length; i += 2000) {
    const rows = await q
      .selectFrom('quarantine')
      .select(['address', 'status'])
      .where('address', 'in', addresses.slice(i, i + 2000))
      .where('status', 'in', EXCLUDING_STATUSES as number[])
      .execute();
    for (const r of rows) out.set(r.address, r.status);
  }
  return out;
}
