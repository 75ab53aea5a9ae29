/**
 * What the HTTP API needs from the running system, handed in by the composition root so
 * routes never build services themselves.
 */
import type { Db } from '../db/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { AnalysisReport } from '../analysis/index.ts';
import type { DeliveryDefaults } from '../deliveries/index.ts';
import type { Engine } from '../mta/index.ts';
import type { MxRules } from '../config/mx-rules.ts';
import type { SendingIps } from '../config/sending-ips.ts';
import type { Registry } from 'prom-client';

export interface AnalysisRunner {
  /** Starts (or joins) the analysis of a delivery. */
  run(deliveryId: number, actor: string): Promise<AnalysisReport>;
  progress(deliveryId: number): { done: number; total: number } | null;
}

export interface ApiContext {
  db: Db;
  config: Config;
  logger: Logger;
  /** The instance's secret: seals DKIM private keys. */
  secret: string;
  defaults: DeliveryDefaults;
  analysis: AnalysisRunner;
  /** Nudges the sender after a confirm, pause, resume or stop. */
  wakeSender(): void;
  /** Called after an operator re-qualifies a failure text (classifiers reload their overrides). */
  onRequalified?(): void;
  version: string;
  /** The MTA of this process, when it runs the mta role; policies are readable in any case. */
  mta: { engine: Engine | null; mxRules(): MxRules; sendingIps(): SendingIps } | null;
  /** Prometheus registry served at /metrics. */
  metrics: Registry | null;
}
