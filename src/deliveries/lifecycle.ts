/**
 * Operator actions on a delivery's state: confirm, pause, resume, stop. Each checks the
 * transition is legal, records it in the audit trail, and leaves the work to the sender,
 * which acknowledges requests (holds or releases the delivery's messages in the MTA) and
 * moves the delivery on: Pause requested → Paused, Stop requested → Stopped.
 */
import type { Db } from '../db/index.ts';
import { illegalState } from '../lib/errors.ts';
import { audit } from './audit.ts';
import { assertAction, DeliveryState, type DeliveryAction } from './states.ts';
import { getDeliveryRow, toView, type DeliveryView } from './store.ts';

/** Confirms an analyzed delivery: refused while the analysis is stale or reported errors. */
export async function confirmDelivery(db: Db, id: number, actor = 'api'): Promise<DeliveryView> {
  return transition(db, id, 'confirm', actor, (row) => {
    if (row.analyzed_version !== row.content_version || !row.analysis) throw illegalState('the delivery changed since its analysis: analyze it again before confirming');
    const report = JSON.parse(row.analysis) as { errors: number; counts: { toDeliver: number } };
    if (report.errors > 0) throw illegalState(`the analysis found ${report.errors} error(s): fix them and analyze again before confirming`, { errors: report.errors });
    if (report.counts.toDeliver === 0) throw illegalState('there is nothing to deliver');
    return { confirmed_at: Date.now() };
  });
}

export const pauseDelivery = (db: Db, id: number, actor = 'api') => transition(db, id, 'pause', actor);
export const resumeDelivery = (db: Db, id: number, actor = 'api') => transition(db, id, 'resume', actor);
export const stopDelivery = (db: Db, id: number, actor = 'api') => transition(db, id, 'stop', actor);

async function transition(
  db: Db,
  id: number,
  action: DeliveryAction,
  actor: string,
  extra?: (row: Awaited<ReturnType<typeof getDeliveryRow>>) => Record<string, number | null>,
): Promise<DeliveryView> {
  const row = await db.tx(async (trx) => {
    const current = await getDeliveryRow(trx, id);
    // A stream is never confirmed nor stopped: it takes messages until paused, and resumes.
    if (current.kind === 'stream' && action !== 'pause' && action !== 'resume') throw illegalState(`a stream can be paused and resumed, not ${actionPast[action].replace(/-requested$/, '')}`);
    const next = assertAction(action, current.state);
    const more = extra?.(current) ?? {};
    const updated = await trx
      .updateTable('deliveries')
      .set({ state: next, updated_at: Date.now(), ...more })
      .where('id', '=', id)
      .where('state', '=', current.state)
      .returningAll()
      .executeTakeFirst();
    if (!updated) throw illegalState('the delivery changed state meanwhile; try again');
    await audit(trx, id, actor, actionPast[action]);
    return updated;
  });
  return toView(row);
}

const actionPast: Record<DeliveryAction, string> = {
  edit: 'edited',
  analyze: 'analyzed',
  confirm: 'confirmed',
  pause: 'pause-requested',
  resume: 'resumed',
  stop: 'stop-requested',
};

export { DeliveryState };
