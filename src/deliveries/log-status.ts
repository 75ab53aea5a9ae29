/**
 * Delivery-log statuses and failure-type codes. Campaign documents Sent 1, Failed 2,
 * Pending 6 and Delivery cancelled 7; Ignored 3 and "Taken into account by the service
 * provider" 4 are Estafeta's. Failure types: 0 none, 1 Soft, 2 Hard (Campaign's values),
 * 3 Ignored, 4 Not defined.
 */
import { FAILURE_REASON_VALUES, type FailureReason, type FailureType } from '../mail/failure.ts';

export const LogStatus = {
  Sent: 1,
  Failed: 2,
  Ignored: 3,
  Taken: 4,
  Pending: 6,
  Cancelled: 7,
} as const;
export type LogStatus = (typeof LogStatus)[keyof typeof LogStatus];

export const LOG_STATUS_LABELS: Record<LogStatus, string> = {
  1: 'Sent',
  2: 'Failed',
  3: 'Ignored',
  4: 'Taken into account by the service provider',
  6: 'Pending',
  7: 'Delivery cancelled',
};

export const LOG_STATUS_NAMES: Record<LogStatus, string> = {
  1: 'sent',
  2: 'failed',
  3: 'ignored',
  4: 'taken',
  6: 'pending',
  7: 'cancelled',
};

/** Statuses that no longer change (except an asynchronous bounce turning Sent into Failed). */
export const FINAL_LOG_STATUSES: readonly LogStatus[] = [LogStatus.Sent, LogStatus.Failed, LogStatus.Ignored, LogStatus.Cancelled];

export function logStatusFromName(name: string): LogStatus | undefined {
  const e = Object.entries(LOG_STATUS_NAMES).find(([, n]) => n === name);
  return e ? (Number(e[0]) as LogStatus) : undefined;
}

const TYPE_CODES: Record<FailureType, number> = { Soft: 1, Hard: 2, Ignored: 3, 'Not defined': 4 };
const TYPE_BY_CODE = Object.fromEntries(Object.entries(TYPE_CODES).map(([k, v]) => [v, k])) as Record<number, FailureType>;
const REASON_BY_CODE = Object.fromEntries(Object.entries(FAILURE_REASON_VALUES).map(([k, v]) => [v, k])) as Record<number, FailureReason>;

export const failureTypeCode = (type: FailureType | null | undefined): number => (type ? TYPE_CODES[type] : 0);
export const failureTypeFromCode = (code: number): FailureType | null => TYPE_BY_CODE[code] ?? null;
export const failureReasonCode = (reason: FailureReason | null | undefined): number | null => (reason ? FAILURE_REASON_VALUES[reason] : null);
export const failureReasonFromCode = (code: number | null): FailureReason | null => (code === null ? null : (REASON_BY_CODE[code] ?? null));
