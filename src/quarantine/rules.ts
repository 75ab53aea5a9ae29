/**
 * Campaign's quarantine rules as a pure function: given an address's current entry and one
 * new fact (an error, a success, a complaint), the next entry. The thresholds come from
 * policy/quarantine.yaml (Campaign's: quarantine at the 5th significant error, errors less
 * than 24 h apart count once, the counter restarts after 10 days without error); a
 * successful delivery makes "With errors" Valid; a complaint denylists; Quarantine and
 * Denylisted never leave by themselves.
 */
import type { FailureReason, FailureType } from '../mail/failure.ts';
import { QuarantineStatus } from './status.ts';

/** Read from policy/quarantine.yaml by config/quarantine-policy.ts (the only source of the values). */
export interface QuarantinePolicy {
  maxErrors: number;
  significantErrorDelayMs: number;
  resetAfterMs: number;
  mailboxFullReleaseMs: number;
}

export interface QuarantineEntry {
  status: QuarantineStatus;
  failureType: FailureType | null;
  failureReason: FailureReason | null;
  errorCount: number;
  lastErrorAt: number | null;
  lastSignificantAt: number | null;
  errorText: string | null;
}

export type QuarantineFact =
  | { kind: 'error'; at: number; failureType: FailureType; failureReason: FailureReason; quarantineNow: boolean; text: string }
  | { kind: 'success'; at: number }
  | { kind: 'complaint'; at: number; text: string }
  | { kind: 'unsubscribe'; at: number; text: string };

/** The entry after the fact, or null when the fact changes nothing (or creates no entry). */
export function nextQuarantineEntry(current: QuarantineEntry | null, fact: QuarantineFact, policy: QuarantinePolicy): QuarantineEntry | null {
  const locked = current && (current.status === QuarantineStatus.Quarantine || current.status === QuarantineStatus.Denylisted);
  switch (fact.kind) {
    case 'complaint':
    case 'unsubscribe':
      if (current?.status === QuarantineStatus.Denylisted) return null;
      return { ...(current ?? emptyEntry()), status: QuarantineStatus.Denylisted, failureType: 'Hard', failureReason: 'Denylisted address', lastErrorAt: fact.at, errorText: fact.text };
    case 'success':
      if (!current || current.status !== QuarantineStatus.WithErrors) return null;
      return { ...current, status: QuarantineStatus.Valid, errorCount: 0 };
    case 'error': {
      if (locked) return null;
      if (fact.failureType === 'Ignored') return null;
      const base = current ?? emptyEntry();
      if (fact.quarantineNow) {
        return { ...base, status: QuarantineStatus.Quarantine, failureType: fact.failureType, failureReason: fact.failureReason, errorCount: base.errorCount + 1, lastErrorAt: fact.at, lastSignificantAt: fact.at, errorText: fact.text };
      }
      const stale = base.lastSignificantAt !== null && fact.at - base.lastSignificantAt > policy.resetAfterMs;
      const count = stale ? 0 : base.status === QuarantineStatus.Valid ? 0 : base.errorCount;
      const significant = stale || base.lastSignificantAt === null || count === 0 || fact.at - base.lastSignificantAt >= policy.significantErrorDelayMs;
      const errorCount = significant ? count + 1 : count;
      return {
        status: errorCount >= policy.maxErrors ? QuarantineStatus.Quarantine : QuarantineStatus.WithErrors,
        failureType: fact.failureType,
        failureReason: fact.failureReason,
        errorCount,
        lastErrorAt: fact.at,
        lastSignificantAt: significant ? fact.at : base.lastSignificantAt,
        errorText: fact.text,
      };
    }
  }
}

function emptyEntry(): QuarantineEntry {
  return { status: QuarantineStatus.Valid, failureType: null, failureReason: null, errorCount: 0, lastErrorAt: null, lastSignificantAt: null, errorText: null };
}
