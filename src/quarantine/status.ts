/**
 * Quarantine statuses of an address, with Campaign's names. Campaign documents Valid = 2;
 * the other codes are Estafeta's. "Suspected" is Estafeta's addition: a quarantine held back
 * because its domain's hard-bounce rate looks like a provider outage (see feedback/).
 */
export const QuarantineStatus = {
  WithErrors: 1,
  Valid: 2,
  Quarantine: 3,
  Denylisted: 4,
  Suspected: 5,
} as const;
export type QuarantineStatus = (typeof QuarantineStatus)[keyof typeof QuarantineStatus];

export const QUARANTINE_STATUS_NAMES: Record<QuarantineStatus, string> = {
  1: 'with-errors',
  2: 'valid',
  3: 'quarantine',
  4: 'denylisted',
  5: 'suspected',
};

export const QUARANTINE_STATUS_LABELS: Record<QuarantineStatus, string> = {
  1: 'With errors',
  2: 'Valid',
  3: 'Quarantine',
  4: 'Denylisted',
  5: 'Suspected (held)',
};

export function quarantineStatusFromName(name: string): QuarantineStatus | undefined {
  const e = Object.entries(QUARANTINE_STATUS_NAMES).find(([, n]) => n === name);
  return e ? (Number(e[0]) as QuarantineStatus) : undefined;
}

/** Statuses that exclude an address from deliveries at analysis. */
export const EXCLUDING_STATUSES: readonly QuarantineStatus[] = [QuarantineStatus.Quarantine, QuarantineStatus.Denylisted];
