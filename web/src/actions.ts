// Which operator actions a delivery state allows: the same table as the server's
// (src/deliveries/states.ts), so buttons are only offered when they can work. The server
// stays the judge: an action it refuses comes back with its reason.
import { post } from './api.ts';

export type Action = 'analyze' | 'confirm' | 'pause' | 'resume' | 'stop';

const FROM: Record<Action, string[]> = {
  analyze: ['being-edited', 'pending-confirmation', 'failed'],
  confirm: ['pending-confirmation'],
  pause: ['start-pending', 'in-progress'],
  resume: ['paused', 'pause-requested'],
  stop: ['start-pending', 'in-progress', 'pause-requested', 'paused'],
};

export const ACTION_LABELS: Record<Action, string> = { analyze: 'Analyze', confirm: 'Confirm', pause: 'Pause', resume: 'Resume', stop: 'Stop' };

export const allowedActions = (state: string): Action[] => (Object.keys(FROM) as Action[]).filter((a) => FROM[a].includes(state));

/** Actions that deserve a second look before they run. */
export const NEEDS_CONFIRMATION: Action[] = ['confirm', 'stop'];

export function runAction(id: number, action: Action): Promise<unknown> {
  // Analysis runs in the background; the live stream shows its progress and result.
  return post(`/deliveries/${id}/${action}${action === 'analyze' ? '?wait=false' : ''}`);
}
