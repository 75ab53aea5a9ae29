/**
 * The demo's sample delivery, driven through the HTTP API exactly as the dashboard and the
 * CLI drive one (create with recipients, analyze, confirm, poll KPIs), then the wait for
 * the simulator's late mail: DSNs and complaints arrive after a log is already Sent and
 * turn it Failed or denylist the address, so the final figures are read only once the
 * simulator's queue is empty and Estafeta has applied everything it received.
 */
import { demoTarget } from './demo-recipients.ts';
import type { DemoWorld } from './demo.ts';

/** The KPIs as the API returns them (see src/api/schemas.ts). */
export interface DemoKpis {
  toDeliver: number;
  processed: number;
  sent: number;
  failed: number;
  successPercent: number;
  quarantined: number;
  complaints: number;
  softBouncesPendingRetry: number;
  failuresByReason: Record<string, number>;
  [more: string]: unknown;
}

export type DemoPhase = 'analyzing' | 'sending' | 'settling' | 'done';

export interface DemoProgress {
  phase: DemoPhase;
  deliveryId: number | null;
  state: string | null;
  kpis: DemoKpis | null;
}

export interface DemoResult {
  deliveryId: number;
  kpis: DemoKpis;
  excluded: Record<string, number>;
  /** Seconds spent in each phase; `sending` is from confirmation to Finished. */
  timings: { analysis: number; sending: number; settling: number };
  simulator: { accepted: number; deferred: number; rejected: number; asyncMails: Record<string, number>; engagement: Record<string, number> | null };
}

export interface DemoRunOptions {
  recipients: number;
  onProgress?: (p: DemoProgress) => void;
  /** How often KPIs are polled (ms). */
  pollMs?: number;
}

const CONTENT = {
  subject: 'Hello {{ firstName }}, your spring picks from {{ city }}',
  html: `<!doctype html><html><body style="font-family:sans-serif">
<h1>Hello {{ firstName }} {{ lastName }}!</h1>
<p>Spring is here in {{ city }}. As a <b>{{ plan }}</b> member you get early access to this week's selection.</p>
{% if vip %}<p style="color:#b00">VIP: free shipping on everything until Sunday.</p>{% endif %}
<p><a href="https://shop.example/spring?u={{ email | url_encode }}">See the selection</a></p>
<p style="font-size:small">You get this mail because you subscribed at shop.example. <a href="{{ unsubscribeUrl }}">Unsubscribe</a></p>
</body></html>`,
  text: `Hello {{ firstName }} {{ lastName }}!

Spring is here in {{ city }}. As a {{ plan }} member you get early access to this week's selection.
{% if vip %}VIP: free shipping on everything until Sunday.
{% endif %}
https://shop.example/spring

Unsubscribe: {{ unsubscribeUrl }}`,
};

/**
 * The validity period: ample time to send everything and retry greylisting and rate limits
 * (which retry within seconds), and shorter than the backoff of the soft bounces the demo
 * gives up on (see DEMO_RETRY), so those fail at once. Campaign's default is 3.5 days.
 */
export const DEMO_VALIDITY = '15m';

export async function runDemoDelivery(world: DemoWorld, o: DemoRunOptions): Promise<DemoResult> {
  const api = apiClient(world.url, world.apiKey);
  const pollMs = o.pollMs ?? 500;
  const report = (phase: DemoPhase, deliveryId: number | null, state: string | null, kpis: DemoKpis | null) => o.onProgress?.({ phase, deliveryId, state, kpis });
  const target = demoTarget(o.recipients);

  report('analyzing', null, null, null);
  const t0 = Date.now();
  const created = await api('POST', '/deliveries', {
    label: `Demo: spring newsletter to ${o.recipients.toLocaleString('en')} recipients`,
    from: { name: 'Shop Example', address: 'news@shop.example' },
    replyTo: 'care@shop.example',
    ...CONTENT,
    validity: DEMO_VALIDITY,
    recipients: target.recipients,
  });
  const id = created.id as number;
  const analysis = await api('POST', `/deliveries/${id}/analyze`);
  if (analysis.errors > 0) throw new Error(`the demo delivery's analysis has errors: ${JSON.stringify(analysis.lines)}`);
  await api('POST', `/deliveries/${id}/confirm`);
  const t1 = Date.now();

  let d = await api('GET', `/deliveries/${id}`);
  while (!['finished', 'stopped', 'failed'].includes(d.state)) {
    report('sending', id, d.state, d.kpis);
    await sleep(pollMs);
    d = await api('GET', `/deliveries/${id}`);
  }
  const t2 = Date.now();
  report('settling', id, d.state, d.kpis);
  await settle(world, async () => report('settling', id, d.state, (d = await api('GET', `/deliveries/${id}`)).kpis));
  const kpis = (await api('GET', `/deliveries/${id}/kpis`)) as DemoKpis;
  report('done', id, d.state, kpis);

  const counts = world.sim.counts();
  return {
    deliveryId: id,
    kpis,
    excluded: analysis.counts?.excludedByReason ?? {},
    timings: { analysis: secs(t1 - t0), sending: secs(t2 - t1), settling: secs(Date.now() - t2) },
    simulator: { accepted: counts.totals.received, deferred: counts.totals.deferred, rejected: counts.totals.rejected, asyncMails: counts.async.byKind, engagement: counts.engagement?.byKind ?? null },
  };
}

/**
 * Waits until the simulator has sent every late mail and Estafeta has parsed every received
 * mail and applied every outcome event; checked twice in a row, since applying one can
 * (in principle) cause another.
 */
async function settle(world: DemoWorld, tick: () => Promise<void>): Promise<void> {
  const q = world.app.db.kysely;
  let quiet = 0;
  while (quiet < 2) {
    await Promise.race([world.sim.settle(), sleep(1000)]);
    const inbound = await q.selectFrom('inbound_mails').select((eb) => eb.fn.countAll<number>().as('n')).where('processed_at', 'is', null).executeTakeFirstOrThrow();
    const events = await q.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('applied_at', 'is', null).executeTakeFirstOrThrow();
    const idle = world.sim.counts().async.pending === 0 && Number(inbound.n) === 0 && Number(events.n) === 0;
    quiet = idle ? quiet + 1 : 0;
    await tick();
    if (quiet < 2) await sleep(250);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

function apiClient(base: string, key: string) {
  return async (method: string, path: string, body?: unknown): Promise<Json> => {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : {};
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => Math.round(ms / 100) / 10;
