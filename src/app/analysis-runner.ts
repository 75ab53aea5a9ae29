/**
 * Runs analyses in this process, one at a time per delivery, and remembers their progress
 * so the API can show it while a large target is being analyzed.
 */
import type { Db } from '../db/index.ts';
import { analyzeDelivery, type AnalysisReport, type AnalyzeOptions } from '../analysis/index.ts';
import type { AnalysisRunner } from '../api/context.ts';

export function createAnalysisRunner(db: Db, options: Omit<AnalyzeOptions, 'actor' | 'onProgress'>): AnalysisRunner {
  const running = new Map<number, { promise: Promise<AnalysisReport>; done: number; total: number }>();
  return {
    run(deliveryId, actor) {
      const existing = running.get(deliveryId);
      if (existing) return existing.promise;
      const entry = { promise: null as unknown as Promise<AnalysisReport>, done: 0, total: 0 };
      entry.promise = analyzeDelivery(db, deliveryId, {
        ...options,
        actor,
        onProgress: (done, total) => {
          entry.done = done;
          entry.total = total;
        },
      }).finally(() => running.delete(deliveryId));
      running.set(deliveryId, entry);
      return entry.promise;
    },
    progress(deliveryId) {
      const e = running.get(deliveryId);
      return e ? { done: e.done, total: e.total } : null;
    },
  };
}
