/**
 * The transitions the system makes as a delivery's work completes: analysis started,
 * finished or failed; sending started (or resumed); a pause or stop acknowledged; the
 * delivery finished. Each checks the transition is one of SYSTEM_TRANSITIONS (or an
 * operator action, for the analysis), changes the state only from the state it expects
 * (another process may have moved it), and writes the audit entry in the same transaction.
 * Also the sender's lease on a delivery. The only writer of `deliveries` besides store.ts
 * and lifecycle.ts: other stages call these.
 */
import type { Q } from '../db/index.ts';
import { illegalState } from '../lib/errors.ts';
import { audit } from './audit.ts';
import { assertAction, DeliveryState, isSystemTransition, stateLabel } from './states.ts';
import type { DeliveryRow } from './store.ts';
import { cancelPendingLogs } from './log-writes.ts';

/** Moves a delivery from `from` to `to` if it is still in `from`; true when it moved. */
async function move(trx: Q, id: number, from: number, to: number, fields: Record<string, unknown>, actor: string, action: string, detail?: Record<string, unknown>): Promise<boolean> {
  if (!isSystemTransition(from, to)) throw illegalState(`a delivery does not go from "${stateLabel(from)}" to "${stateLabel(to)}" by itself`);
  const r = await trx
    .updateTable('deliveries')
    .set({ state: to, updated_at: Date.now(), ...fields })
    .where('id', '=', id)
    .where('state', '=', from)
    .executeTakeFirst();
  const moved = Number(r.numUpdatedRows) === 1;
  if (moved) await audit(trx, id, actor, action, detail);
  return moved;
}

/** Being edited / Pending confirmation / Failed → Analyzing, refused from any other state. */
export async function beginAnalysis(trx: Q, current: DeliveryRow, actor: string): Promise<void> {
  const next = assertAction('analyze', current.state);
  await trx.updateTable('deliveries').set({ state: next, updated_at: Date.now(), last_error: null }).where('id', '=', Number(current.id)).execute();
  await audit(trx, Number(current.id), actor, 'analysis-started');
}

export interface AnalysisOutcome {
  report: string;
  contentVersion: number;
  targeted: number;
  toDeliver: number;
  excluded: number;
  audit: Record<string, unknown>;
}

/** Analyzing → Pending confirmation, with the report and its counts. */
export async function completeAnalysis(trx: Q, id: number, a: AnalysisOutcome, actor: string): Promise<void> {
  await move(trx, id, DeliveryState.Analyzing, DeliveryState.PendingConfirmation, { analysis: a.report, analyzed_version: a.contentVersion, targeted: a.targeted, to_deliver: a.toDeliver, excluded: a.excluded }, actor, 'analyzed', a.audit);
}

/** Analyzing → Failed, saying why. */
export async function failAnalysis(trx: Q, id: number, message: string): Promise<void> {
  await move(trx, id, DeliveryState.Analyzing, DeliveryState.Failed, { last_error: `analysis failed: ${message}` }, 'system', 'analysis-failed', { message });
}

/** At startup: analyses a crash interrupted go back to "Being edited" with a note. */
export async function recoverInterruptedAnalyses(q: Q): Promise<number> {
  const r = await q
    .updateTable('deliveries')
    .set({ state: DeliveryState.BeingEdited, last_error: 'the analysis was interrupted (process restart); analyze again', updated_at: Date.now() })
    .where('state', '=', DeliveryState.Analyzing)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Start pending → In progress: the validity period starts at the first start, not at a resume. */
export async function startSending(trx: Q, row: DeliveryRow, now: number): Promise<boolean> {
  const fields = { started_at: row.started_at ?? now, valid_until: row.valid_until ?? now + Number(row.validity_ms) };
  return move(trx, Number(row.id), DeliveryState.StartPending, DeliveryState.InProgress, fields, 'system', row.started_at ? 'resumed-sending' : 'started');
}

/** Pause requested → Paused, once the delivery's messages are held. */
export async function acknowledgePause(trx: Q, id: number): Promise<boolean> {
  return move(trx, id, DeliveryState.PauseRequested, DeliveryState.Paused, {}, 'system', 'paused');
}

/** Stop requested → Stopped, once the delivery's messages are dropped: what was still Pending is cancelled. */
export async function acknowledgeStop(trx: Q, id: number): Promise<boolean> {
  await cancelPendingLogs(trx, id);
  return move(trx, id, DeliveryState.StopRequested, DeliveryState.Stopped, { finished_at: Date.now() }, 'system', 'stopped');
}

/** In progress → Finished, when no log is waiting any more. */
export async function finishDelivery(trx: Q, id: number, now: number): Promise<boolean> {
  return move(trx, id, DeliveryState.InProgress, DeliveryState.Finished, { finished_at: now }, 'system', 'finished');
}

/** Takes (or renews) the sender's lease on a delivery; false when another sender holds it. */
export async function leaseDelivery(q: Q, id: number, owner: string, now: number, leaseMs: number): Promise<boolean> {
  const r = await q
    .updateTable('deliveries')
    .set({ sender_owner: owner, sender_until: now + leaseMs })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('sender_owner', 'is', null), eb('sender_owner', '=', owner), eb('sender_until', '<', now)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function releaseDeliveryLeases(q: Q, owner: string): Promise<void> {
  await q.updateTable('deliveries').set({ sender_owner: null, sender_until: null }).where('sender_owner', '=', owner).execute();
}
