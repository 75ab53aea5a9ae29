/**
 * Prometheus metrics, served at /metrics: MTA attempts by outcome and delivery latency,
 * ready queues and connections per site and sending IP, adaptations in force, the spool
 * (total, due, held, oldest message), the feedback backlog (events not yet applied), and the
 * tracking recorder's opens and clicks (written, dropped, waiting).
 * Gauges are read when Prometheus scrapes, so they cost nothing between scrapes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../db/index.ts';
import { countUnapplied } from '../events/index.ts';
import { listAdaptations, spoolStats, type Engine, type Outcome } from '../mta/index.ts';

export interface Metrics {
  registry: Registry;
  onAttempt(site: string, source: string | null, outcome: Outcome): void;
}

/** What the tracking recorder has done since start: events written, dropped (buffer full), waiting. */
export interface TrackingCounts {
  written: number;
  dropped: number;
  buffered: number;
}

export function createMetrics(db: Db, engine: () => Engine | null, tracking: () => TrackingCounts | null = () => null): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'estafeta_process_' });
  const attempts = new Counter({ name: 'estafeta_mta_attempts_total', help: 'Delivery attempts by outcome', labelNames: ['outcome', 'site'], registers: [registry] });
  const attemptsBy = new Map<string, ReturnType<typeof attempts.labels>>();
  const latency = new Histogram({
    name: 'estafeta_mta_delivery_latency_seconds',
    help: 'Time from spooling to delivery of delivered messages',
    buckets: [0.1, 0.5, 1, 2, 5, 15, 60, 300, 1800, 3600, 4 * 3600, 24 * 3600],
    registers: [registry],
  });
  new Gauge({
    name: 'estafeta_mta_ready_queue_messages',
    help: 'Messages held in memory, ready to go, per MX site and sending IP',
    labelNames: ['site', 'source', 'rule'],
    registers: [registry],
    collect() {
      this.reset();
      for (const q of engine()?.stats().queues ?? []) this.set({ site: q.site, source: q.source ?? 'default', rule: q.rule }, q.queued);
    },
  });
  new Gauge({
    name: 'estafeta_mta_connections',
    help: 'Open SMTP connections per MX site and sending IP',
    labelNames: ['site', 'source'],
    registers: [registry],
    collect() {
      this.reset();
      for (const q of engine()?.stats().queues ?? []) this.set({ site: q.site, source: q.source ?? 'default' }, q.connections);
    },
  });
  new Gauge({
    name: 'estafeta_mta_rate_limit_per_minute',
    help: 'Messages per minute allowed now per MX site and sending IP (after throttles)',
    labelNames: ['site', 'source'],
    registers: [registry],
    collect() {
      this.reset();
      for (const q of engine()?.stats().queues ?? []) {
        const perMinute = q.messagesPerMinute ?? (q.messagesPerHour === null ? null : q.messagesPerHour / 60);
        if (perMinute !== null) this.set({ site: q.site, source: q.source ?? 'default' }, perMinute);
      }
    },
  });
  new Gauge({
    name: 'estafeta_mta_adaptations_in_force',
    help: 'Suspensions and throttles in force',
    labelNames: ['action', 'rule'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const a of await listAdaptations(db.kysely)) this.inc({ action: a.action, rule: a.rule });
    },
  });
  new Gauge({
    name: 'estafeta_spool_messages',
    help: 'Messages in the MTA spool by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const s = await spoolStats(db.kysely);
      this.set({ state: 'total' }, s.total);
      this.set({ state: 'due' }, s.due);
      this.set({ state: 'leased' }, s.leased);
      this.set({ state: 'held' }, s.held);
    },
  });
  new Gauge({
    name: 'estafeta_spool_oldest_message_age_seconds',
    help: 'Age of the oldest message in the spool',
    registers: [registry],
    async collect() {
      const s = await spoolStats(db.kysely);
      this.set(s.oldestCreatedAt === null ? 0 : (Date.now() - s.oldestCreatedAt) / 1000);
    },
  });
  new Gauge({
    name: 'estafeta_feedback_backlog_events',
    help: 'Outcome events not yet applied to delivery logs',
    registers: [registry],
    async collect() {
      this.set(await countUnapplied(db.kysely));
    },
  });
  new Gauge({
    name: 'estafeta_tracking_events',
    help: 'Opens and clicks recorded by this process since it started: written, dropped because the buffer was full, and waiting to be written',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const t = tracking();
      if (!t) return;
      this.set({ state: 'written' }, t.written);
      this.set({ state: 'dropped' }, t.dropped);
      this.set({ state: 'buffered' }, t.buffered);
    },
  });
  return {
    registry,
    onAttempt(site, _source, outcome) {
      // One child per (outcome, site), looked up by a plain key: prom-client would hash the
      // label object on every call, thousands of times a second.
      const key = `${outcome.kind}\n${site}`;
      let child = attemptsBy.get(key);
      if (!child) attemptsBy.set(key, (child = attempts.labels(outcome.kind, site)));
      child.inc();
      if (outcome.kind === 'delivered') latency.observe((outcome.at - outcome.message.createdAt) / 1000);
    },
  };
}
