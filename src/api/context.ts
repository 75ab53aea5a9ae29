/**
 * What the HTTP API needs from the running system, handed in by the composition root so
 * routes never build services themselves.
 */
import type { Db } from '../db/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { AnalysisReport } from '../analysis/index.ts';
import type { DeliveryDefaults } from '../deliveries/index.ts';

export interface AnalysisRunner {
  /** Starts (or joins) the analysis of a delivery. */
  run(deliveryId: number, actor: string): Promise<AnalysisReport>;
  progress(deliveryId: number): { done: number; total: number } | null;
}

export interface ApiContext {
  db: Db;
  config: Config;
  logger: Logger;
  defaults: DeliveryDefaults;
  analysis: AnalysisRunner;
  /** Nudges the sender after a confirm, pause, resume or stop. */
  wakeSender(): void;
  /** Called after an operator re-qualifies a failure text (classifiers reload their overrides). */
  onRequalified?(): void;
  version: string;
}
