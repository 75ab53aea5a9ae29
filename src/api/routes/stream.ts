/**
 * Live updates for the dashboard as server-sent events. A delivery's stream pushes its state
 * and KPIs whenever they change; the list stream pushes the changed rows of the deliveries
 * a page shows, and the newest delivery id so a page knows when to fetch new ones. Both poll
 * the counters every 500 ms: reading them costs the same at a million recipients, and
 * streams showing the same thing share one poll (sse.ts), so it costs the same for a
 * thousand viewers. Streams are capped per principal and in all (429).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Gauge } from 'prom-client';
import { getCounters, getDeliveryRow, stateLabel, stateName, toView } from '../../deliveries/index.ts';
import { computeKpis, getKpisMany } from '../../reports/index.ts';
import { invalidInput } from '../../lib/errors.ts';
import type { ApiContext } from '../context.ts';
import type { DeliveryListStreamEvent, DeliveryStreamEvent } from '../contract.ts';
import { errorSchema, idParams } from '../schemas.ts';
import { sseRegistry } from '../sse.ts';

const POLL_MS = 500;
const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export async function streamRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const openStream = sseRegistry(app);
  if (ctx.metrics && !ctx.metrics.getSingleMetric('estafeta_live_streams')) {
    new Gauge({ name: 'estafeta_live_streams', help: 'Live update streams (server-sent events) open', registers: [ctx.metrics], collect() {
      this.set(openStream.stats().streams);
    } });
    new Gauge({ name: 'estafeta_live_polls', help: 'Database polls feeding the live streams (one per delivery or list page shown, whatever the number of viewers)', registers: [ctx.metrics], collect() {
      this.set(openStream.stats().polls);
    } });
  }
  const q = ctx.db.kysely;

  r.get('/deliveries/:id/stream', {
    schema: {
      tags: ['live'],
      summary: 'Server-sent events: "delivery" with {delivery, kpis, analysisProgress} on connect and on every change',
      params: idParams,
      response: { 404: errorSchema, 429: errorSchema },
    },
  }, async (req, reply) => {
    const id = req.params.id;
    await getDeliveryRow(q, id);
    const stream = openStream(req, reply);
    let last = '';
    // Every viewer of this delivery shares one poll; each is sent what changed since its last.
    stream.follow(`delivery:${id}`, async () => {
      const row = await getDeliveryRow(q, id);
      const { html: _h, text: _t, ...delivery } = toView(row);
      const payload = { delivery, kpis: computeKpis(row, await getCounters(q, id)), analysisProgress: ctx.analysis.progress(id) } satisfies DeliveryStreamEvent;
      return { payload, json: JSON.stringify(payload) };
    }, POLL_MS, ({ payload, json }) => {
      if (json !== last) {
        last = json;
        stream.send('delivery', payload);
      }
    });
  });

  /** The rows a list page shows, each with its JSON so every stream can tell what changed. */
  const listSnapshot = async (ids: number[]) => {
    // A new message stream is not a new row of the deliveries list.
    const max = await q.selectFrom('deliveries').select((eb) => eb.fn.max('id').as('id')).where('kind', '=', 'bulk').executeTakeFirst();
    const rows = ids.length
      ? await q.selectFrom('deliveries').select(['id', 'label', 'state', 'updated_at', 'started_at', 'finished_at', 'last_error']).where('id', 'in', ids).execute()
      : [];
    const kpis = await getKpisMany(q, ids);
    const items = rows.map((row) => {
      const item = {
        id: Number(row.id),
        label: row.label,
        state: stateName(row.state),
        stateCode: row.state,
        stateLabel: stateLabel(row.state),
        updatedAt: iso(row.updated_at),
        startedAt: iso(row.started_at),
        finishedAt: iso(row.finished_at),
        lastError: row.last_error,
        kpis: kpis.get(Number(row.id)),
      };
      return { item, json: JSON.stringify(item) };
    });
    return { latestId: Number(max?.id ?? 0), items };
  };

  r.get('/stream', {
    schema: {
      tags: ['live'],
      summary: 'Server-sent events for a list page: "deliveries" with {deliveries: changed rows, latestId}',
      querystring: z.object({ deliveries: z.string().default('').describe('comma-separated ids the page shows (at most 200)') }),
      response: { 400: errorSchema, 429: errorSchema },
    },
  }, async (req, reply) => {
    const ids = req.query.deliveries.split(',').filter(Boolean).map(Number);
    if (ids.some((n) => !Number.isSafeInteger(n) || n <= 0) || ids.length > 200) throw invalidInput('deliveries: up to 200 comma-separated delivery ids');
    const stream = openStream(req, reply);
    const seen = new Map<number, string>();
    let latest = -1;
    // Pages showing the same deliveries share one poll, whatever order they list them in.
    const key = `list:${[...new Set(ids)].sort((a, b) => a - b).join(',')}`;
    stream.follow(key, () => listSnapshot(ids), POLL_MS, ({ latestId, items }) => {
      const changed = [];
      for (const { item, json } of items) {
        if (seen.get(item.id) !== json) {
          seen.set(item.id, json);
          changed.push(item);
        }
      }
      if (changed.length || latestId !== latest) {
        latest = latestId;
        stream.send('deliveries', { deliveries: changed, latestId } satisfies DeliveryListStreamEvent);
      }
    });
  });
}
