/**
 * Delivery states and the legal transitions between them, with Campaign's numeric codes
 * where Campaign documents one (0, 51, 55, 71, 72, 75, 85, 95). Codes Campaign leaves
 * undocumented are Estafeta's: Analyzing 11, Pending confirmation 45, Stop requested 81,
 * Failed 98. Pure data and checks; storing a state change is lifecycle.ts (operators) and progress.ts (the system).
 */
import { illegalState } from '../lib/errors.ts';

export const DeliveryState = {
  BeingEdited: 0,
  Analyzing: 11,
  PendingConfirmation: 45,
  StartPending: 51,
  InProgress: 55,
  PauseRequested: 71,
  Paused: 75,
  StopRequested: 81,
  Stopped: 85,
  Finished: 95,
  Failed: 98,
} as const;
export type DeliveryState = (typeof DeliveryState)[keyof typeof DeliveryState];

export const DELIVERY_STATE_LABELS: Record<DeliveryState, string> = {
  0: 'Being edited',
  11: 'Analyzing',
  45: 'Pending confirmation',
  51: 'Start pending',
  55: 'In progress',
  71: 'Pause requested',
  75: 'Paused',
  81: 'Stop requested',
  85: 'Stopped',
  95: 'Finished',
  98: 'Failed',
};

/** Machine-friendly names used in the API and CLI (`?state=in-progress`). */
export const DELIVERY_STATE_NAMES: Record<DeliveryState, string> = {
  0: 'being-edited',
  11: 'analyzing',
  45: 'pending-confirmation',
  51: 'start-pending',
  55: 'in-progress',
  71: 'pause-requested',
  75: 'paused',
  81: 'stop-requested',
  85: 'stopped',
  95: 'finished',
  98: 'failed',
};

const S = DeliveryState;

/** Operator actions and the states they may be taken from, with the state they lead to. */
export const ACTIONS = {
  edit: { from: [S.BeingEdited, S.PendingConfirmation, S.Failed], to: S.BeingEdited },
  analyze: { from: [S.BeingEdited, S.PendingConfirmation, S.Failed], to: S.Analyzing },
  confirm: { from: [S.PendingConfirmation], to: S.StartPending },
  pause: { from: [S.StartPending, S.InProgress], to: S.PauseRequested },
  // Resuming goes through Start pending: the sender releases the held messages, then In progress.
  resume: { from: [S.Paused, S.PauseRequested], to: S.StartPending },
  stop: { from: [S.StartPending, S.InProgress, S.PauseRequested, S.Paused], to: S.StopRequested },
} as const satisfies Record<string, { from: readonly DeliveryState[]; to: DeliveryState }>;
export type DeliveryAction = keyof typeof ACTIONS;

/** Transitions the system itself makes as work completes. */
const SYSTEM_TRANSITIONS: [DeliveryState, DeliveryState][] = [
  [S.Analyzing, S.PendingConfirmation],
  [S.Analyzing, S.Failed],
  [S.StartPending, S.InProgress],
  [S.PauseRequested, S.Paused],
  [S.StopRequested, S.Stopped],
  [S.InProgress, S.Finished],
  [S.StartPending, S.Finished],
  [S.InProgress, S.Failed],
  [S.StopRequested, S.Finished],
  [S.Analyzing, S.BeingEdited],
];

export function stateLabel(state: number): string {
  return DELIVERY_STATE_LABELS[state as DeliveryState] ?? `Unknown (${state})`;
}

export function stateName(state: number): string {
  return DELIVERY_STATE_NAMES[state as DeliveryState] ?? `unknown-${state}`;
}

export function stateFromName(name: string): DeliveryState | undefined {
  const entry = Object.entries(DELIVERY_STATE_NAMES).find(([, n]) => n === name);
  return entry ? (Number(entry[0]) as DeliveryState) : undefined;
}

/** Throws ILLEGAL_STATE with a message that says which actions the current state allows. */
export function assertAction(action: DeliveryAction, current: number): DeliveryState {
  const rule = ACTIONS[action];
  if ((rule.from as readonly number[]).includes(current)) return rule.to;
  const allowed = (Object.keys(ACTIONS) as DeliveryAction[]).filter((a) => (ACTIONS[a].from as readonly number[]).includes(current));
  throw illegalState(
    `cannot ${action} a delivery that is "${stateLabel(current)}"` +
      (allowed.length ? `; from this state you can: ${allowed.join(', ')}` : '; no operator action is possible from this state'),
    { state: stateName(current), allowed },
  );
}

export function isSystemTransition(from: number, to: number): boolean {
  return SYSTEM_TRANSITIONS.some(([a, b]) => a === from && b === to);
}

/** States in which the sender and the MTA should be moving messages. */
export const SENDING_STATES: readonly DeliveryState[] = [S.StartPending, S.InProgress];
/** States in which the delivery's messages must not leave the MTA. */
export const HOLDING_STATES: readonly DeliveryState[] = [S.PauseRequested, S.Paused];
export const FINAL_STATES: readonly DeliveryState[] = [S.Stopped, S.Finished, S.Failed];
