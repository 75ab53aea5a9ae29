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
import type { TrackingRecorder } from '../tracking/index.ts';
import type { Registry } from 'prom-client';
import type { Emitter } from '../lib/signals.ts';
import type { StreamSender } from '../streams/index.ts';

export interface AnalysisRunner {
  /** Starts (or joins) the analysis of a delivery. */
  run(deliveryId: number, actor: string): Promise<AnalysisReport>;
  progress(deliveryId: number): { done: number; total: number } | null;
}

/** The signals the API emits. */
export interface ApiSignals {
  /** An operator confirmed, paused, resumed or stopped a delivery. */
  'delivery:changed': { deliveryId: number; action: string };
  /** An operator re-qualified a failure text. */
  'qualifications:changed': { key: string };
}

export interface ApiContext {
  db: Db;
  config: Config;
  logger: Logger;
  /** The instance's secret: seals DKIM private keys. */
  secret: string;
  defaults: DeliveryDefaults;
  analysis: AnalysisRunner;
  /** Told after a delivery's state changes here (the sender listens) and after an operator re-qualifies a failure text (classifiers reload). */
  signals?: Emitter<ApiSignals>;
  version: string;
  /** The MTA of this process, when it runs the mta role; policies are readable in any case. */
  mta: { engine: Engine | null; mxRules(): MxRules; sendingIps(): SendingIps } | null;
  /** Prometheus registry served at /metrics. */
  metrics: Registry | null;
  /** Where the process is in its life, for readiness: why it should get no traffic (starting, draining), or null. */
  lifecycle?: { notReady(): string | null; draining(): boolean };
  /** Records opens, clicks and unsubscriptions from the public tracking routes; without it they are not served. */
  tracking?: TrackingRecorder | null;
  /** Sends the send API's messages to streams; without it POST /messages answers 409. */
  streams?: StreamSender | null;
}
