/**
 * `estafeta webhooks ...`: the endpoints that receive signed event POSTs (docs/WEBHOOKS.md):
 * list, show one with its recent attempts, create (the signing secret is printed once, in
 * that answer only), delete, enable again after Estafeta disabled it, replay from a time, and
 * send a test event. Only talks to the API; the dispatcher itself runs in the feedback role.
 */
import { Command } from 'commander';
import type { ApiClient } from '../client.ts';
import { CliError } from '../client.ts';
import { idOf } from '../args.ts';
import { JSON_HELP, printJson, printPairs, printTable } from '../format.ts';
import { dateTime, fromNow, moment, num, plural } from '../words.ts';
import type { WebhookAttempt, WebhookCreated, WebhookDetail, WebhookEndpoint, WebhookList, WebhookReplayed, WebhookTestResult } from '../../api/contract.ts';
import type { WEBHOOK_EVENT_TYPES as API_EVENT_TYPES } from '../../api/webhook-schemas.ts';

// Spelled out rather than imported, so that a short command never loads zod; `satisfies`
// breaks the type check when the API's list changes.
const WEBHOOK_EVENT_TYPES = ['delivered', 'deferred', 'bounced', 'expired', 'cancelled', 'bounced-async', 'complained', 'auto-replied', 'unsubscribed', 'opened', 'clicked'] as const satisfies typeof API_EVENT_TYPES;

const eventsInWords = (w: WebhookEndpoint) => (w.eventTypes?.length ? w.eventTypes.join(', ') : 'every type');

/** "enabled", "failing since 13:05, next try in 4 min", or "disabled: <why>". */
function stateInWords(w: WebhookEndpoint, now = Date.now()): string {
  if (!w.enabled) return `disabled${w.disabledReason ? `: ${w.disabledReason}` : ''}`;
  if (!w.failures) return 'enabled';
  const next = w.nextAttemptAt ? `, next try ${fromNow(w.nextAttemptAt, now)}` : '';
  return `failing: ${plural(w.failures, 'failed attempt')} in a row${w.failingSince ? ` since ${moment(w.failingSince, now)}` : ''}${next}`;
}

/** An attempt's outcome: "200 ok", "HTTP 500: <the receiver's answer>", "no answer: timeout". */
function outcomeOf(a: Pick<WebhookAttempt, 'statusCode' | 'error'>): string {
  if (a.statusCode === null) return `no answer${a.error ? `: ${a.error}` : ''}`;
  if (a.statusCode >= 200 && a.statusCode < 300) return `${a.statusCode} ok`;
  // The dispatcher's error already names the status ("HTTP 500: …"): say it once.
  return a.error ? (a.error.includes(String(a.statusCode)) ? a.error : `${a.statusCode} ${a.error}`) : `HTTP ${a.statusCode}`;
}

const cut = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

/** --events a,b checked here so a typo is named before anything is created. */
function eventTypesOf(value: string | undefined): string[] | undefined {
  if (!value) return undefined;
  const types = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = types.filter((t) => !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length) throw new CliError(`unknown event type${unknown.length > 1 ? 's' : ''} ${unknown.map((t) => `"${t}"`).join(', ')}; the types are ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  return types;
}

export function webhooksCommand(client: () => ApiClient): Command {
  const cmd = new Command('webhooks').description('endpoints that receive signed POSTs of what happens to each message');

  cmd
    .command('list')
    .description('the webhook endpoints (never their secrets)')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const { webhooks } = await client().get<WebhookList>('/webhooks');
      if (o.json) return printJson(webhooks);
      if (!webhooks.length) return void process.stdout.write('no webhook endpoints yet: add one with "estafeta webhooks create --url URL"\n');
      printTable(['id', 'url', 'events', 'delivery', 'state', 'last event sent'], webhooks.map((w) => [w.id, cut(w.url, 50), cut(eventsInWords(w), 40), w.deliveryId ?? 'all', cut(stateInWords(w), 60), w.cursor || '']));
    });

  cmd
    .command('show <id>')
    .description('one endpoint with its recent attempts: status, latency, error')
    .option('--json', JSON_HELP)
    .action(async (id, o) => {
      const w = await client().get<WebhookDetail>(`/webhooks/${idOf('webhook', id)}`);
      if (o.json) return printJson(w);
      printPairs([
        ['Webhook', w.id],
        ['URL', w.url],
        ['Events', eventsInWords(w)],
        ['Delivery', w.deliveryId ?? 'all traffic'],
        ['State', stateInWords(w)],
        ['Last event sent', w.cursor || 'none yet'],
        ['Created', `${dateTime(w.createdAt)} by ${w.createdBy}`],
      ]);
      if (!w.attempts.length) return void process.stdout.write('\nNo attempts yet.\n');
      process.stdout.write(`\nRecent attempts (${plural(w.attempts.length, 'attempt')}, newest first)\n`);
      printTable(['at', 'events', 'try', 'status', 'latency', 'error'], w.attempts.map((a) => [
        dateTime(a.at),
        a.firstEventId === null ? num(a.events) : `${num(a.events)} (${a.firstEventId}${a.lastEventId !== a.firstEventId ? `–${a.lastEventId}` : ''})`,
        a.attempt === 0 ? 'test' : a.attempt,
        a.statusCode === null ? 'no answer' : a.statusCode,
        `${num(Math.round(a.latencyMs))} ms`,
        cut(a.error ?? '', 60),
      ]));
    });

  cmd
    .command('create')
    .description('register an endpoint; it receives the events written from now on, signed with a secret printed once')
    .requiredOption('--url <url>', 'http or https URL that receives the POSTs')
    .option('--events <types>', `comma-separated event types (default: every type): ${WEBHOOK_EVENT_TYPES.join(', ')}`)
    .option('--delivery <id>', "only this delivery's events (default: all traffic)")
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const body = { url: o.url, eventTypes: eventTypesOf(o.events), deliveryId: o.delivery === undefined ? undefined : idOf('delivery', o.delivery) };
      const w = await client().post<WebhookCreated>('/webhooks', body);
      if (o.json) return printJson(w);
      process.stdout.write(`created webhook ${w.id}: ${w.url} (${eventsInWords(w)}${w.deliveryId ? `, delivery ${w.deliveryId}` : ''})\n`);
      process.stdout.write(`signing secret: ${w.secret}\n`);
      // The API never shows it again: a lost secret means deleting and creating the endpoint.
      process.stderr.write('Store this secret now: it is shown only once. Verify the Estafeta-Signature header of each POST with it (docs/WEBHOOKS.md).\n');
    });

  cmd
    .command('delete <id>')
    .description('delete an endpoint and its attempts')
    .action(async (id) => {
      id = idOf('webhook', id);
      await client().delete(`/webhooks/${id}`);
      process.stdout.write(`webhook ${id} deleted\n`);
    });

  cmd
    .command('enable <id>')
    .description('enable an endpoint Estafeta disabled: it resumes where it stopped, with a fresh retry period')
    .option('--json', JSON_HELP)
    .action(async (id, o) => {
      const w = await client().post<WebhookEndpoint>(`/webhooks/${idOf('webhook', id)}/enable`);
      if (o.json) return printJson(w);
      process.stdout.write(`webhook ${w.id}: ${stateInWords(w)}; it resumes after event ${w.cursor}\n`);
    });

  cmd
    .command('replay <id>')
    .description('send again every event that happened at or after a time, in order')
    .requiredOption('--from <time>', 'ISO 8601, e.g. 2026-12-03T00:00:00Z')
    .option('--json', JSON_HELP)
    .action(async (id, o) => {
      id = idOf('webhook', id);
      const from = new Date(o.from);
      if (Number.isNaN(from.getTime())) throw new CliError(`--from is a time, e.g. 2026-12-03T00:00:00Z: "${o.from}" is not one`);
      const r = await client().post<WebhookReplayed>(`/webhooks/${id}/replay`, { from: from.toISOString() });
      if (o.json) return printJson(r);
      process.stdout.write(r.fromEventId === null ? `webhook ${id}: no event happened since ${dateTime(from.getTime())}; nothing to send again\n` : `webhook ${id}: events from ${r.fromEventId} on (since ${dateTime(from.getTime())}) will be sent again, in order\n`);
    });

  cmd
    .command('test <id>')
    .description('send one signed event of type "test" now, and say what the receiver answered')
    .option('--json', JSON_HELP)
    .action(async (id, o) => {
      id = idOf('webhook', id);
      const r = await client().post<WebhookTestResult>(`/webhooks/${id}/test`);
      if (o.json) return printJson(r);
      process.stdout.write(`webhook ${id}: ${r.ok ? 'the receiver accepted the test event' : 'the receiver refused the test event'}: ${outcomeOf(r)} in ${num(r.latencyMs)} ms\n`);
      if (!r.ok) process.exitCode = 1;
    });
  return cmd;
}
