/**
 * The analysis report: counts (targeted, to deliver, excluded by reason) and info / warning /
 * error lines, as Campaign shows them (blue, yellow, red). An error blocks confirmation.
 */
import type { FailureReason } from '../mail/failure.ts';

export type LineLevel = 'info' | 'warning' | 'error';

export interface AnalysisLine {
  level: LineLevel;
  code: string;
  message: string;
  count?: number;
  /** A few examples (addresses, row numbers) so the operator can find the problem. */
  samples?: string[];
}

export interface AnalysisReport {
  contentVersion: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  counts: {
    targeted: number;
    toDeliver: number;
    excluded: number;
    excludedByReason: Partial<Record<FailureReason, number>>;
    personalizationErrors: number;
  };
  messageSize: { max: number; average: number };
  topDomains: { domain: string; count: number }[];
  lines: AnalysisLine[];
  errors: number;
  warnings: number;
}

export class ReportLines {
  readonly lines: AnalysisLine[] = [];
  add(level: LineLevel, code: string, message: string, extra: { count?: number; samples?: string[] } = {}): void {
    this.lines.push({ level, code, message, ...extra });
  }
  count(level: LineLevel): number {
    return this.lines.filter((l) => l.level === level).length;
  }
}
