/**
 * The webhooks' Prometheus metrics, per endpoint id (never its URL, which may carry a token,
 * and /metrics is open): POSTs answered 2xx and failed and events delivered by this process
 * since it started, and from the table, read when Prometheus scrapes: whether the endpoint is
 * enabled (0 once Estafeta disabled it: the alert to set), its failures in a row, and its
 * backlog (events written after its cursor, before its filters).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Db } from '../db/index.ts';
import type { WebhookRunner } from './thread.ts';

export function registerWebhookMetrics(registry: Registry, db: Db, dispatcher: () => WebhookRunner | null): void {
  // The counts live in the dispatcher; the counters copy them at scrape time.
  new Counter({
    name: 'estafeta_webhook_posts_total',
    help: 'Webhook POSTs by this process since it started, per endpoint: answered 2xx (ok) or not (failed: an error status, a timeout, a refused connection)',
    labelNames: ['endpoint', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [id, c] of dispatcher()?.counts ?? []) {
        this.inc({ endpoint: String(id), result: 'ok' }, c.posts);
        this.inc({ endpoint: String(id), result: 'failed' }, c.failedPosts);
      }
    },
  });
  new Counter({
    name: 'estafeta_webhook_events_sent_total',
    help: 'Events delivered to a webhook endpoint (answered 2xx) by this process since it started; a retry after a failure counts again',
    labelNames: ['endpoint'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [id, c] of dispatcher()?.counts ?? []) this.inc({ endpoint: String(id) }, c.events);
    },
  });
  const endpoints = async () => {
    const last = await db.kysely.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
    const rows = await db.kysely.selectFrom('webhook_endpoints').select(['id', 'enabled', 'failures', 'cursor']).execute();
    return rows.map((r) => ({ id: String(r.id), enabled: Number(r.enabled), failures: Number(r.failures), backlog: Math.max(0, Number(last?.id ?? 0) - Number(r.cursor)) }));
  };
  new Gauge({
    name: 'estafeta_webhook_endpoint_enabled',
    help: 'A webhook endpoint: 1 enabled, 0 disabled (by an admin or by Estafeta after its receiver failed for webhooks.retryFor)',
    labelNames: ['endpoint'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const e of await endpoints()) this.set({ endpoint: e.id }, e.enabled);
    },
  });
  new Gauge({
    name: 'estafeta_webhook_failures_in_a_row',
    help: 'Failed attempts in a row of a webhook endpoint (0 once one is answered 2xx)',
    labelNames: ['endpoint'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const e of await endpoints()) this.set({ endpoint: e.id }, e.failures);
    },
  });
  new Gauge({
    name: 'estafeta_webhook_backlog_events',
    help: "Events written after a webhook endpoint's cursor, not delivered yet (before its filters: an upper bound)",
    labelNames: ['endpoint'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const e of await endpoints()) this.set({ endpoint: e.id }, e.backlog);
    },
  });
}
