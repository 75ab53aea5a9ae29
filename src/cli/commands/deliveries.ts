/**
 * `estafeta deliveries ...`: create, update, list, show, import recipients, analyze (with a
 * progress bar), confirm, pause, resume, stop, KPIs, tracked links and logs, all through the
 * HTTP API.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { ApiClient } from '../client.ts';
import { CliError } from '../client.ts';
import { idOf, wholeNumber } from '../args.ts';
import { JSON_HELP, printJson, printTable, progressBar } from '../format.ts';
import { linkNames, showAnalysis, showDelivery, showKpis, showLinks, showLog, trackingInWords, waitingInWords } from '../delivery-views.ts';
import { dateTime, failure, num, percent, plural } from '../words.ts';
import type { AuditTrail, Delivery, DeliveryDetail, DeliveryList, Kpis, LinkReport, LogDetail, LogPage, RecipientsImported } from '../../api/contract.ts';

type Client = () => ApiClient;
/** A delivery body from --file, completed by the flags; the API checks it. */
type DeliveryBody = { from?: { name?: string; address?: string }; [field: string]: unknown };

const readText = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
};

function parseJsonFile(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

async function uploadRecipients(api: ApiClient, id: number, file: string, append: boolean): Promise<RecipientsImported> {
  const text = readText(file);
  const mode = append ? 'append' : 'replace';
  if (file.endsWith('.json')) return api.put(`/deliveries/${id}/recipients?mode=${mode}`, parseJsonFile(file, text));
  return api.put(`/deliveries/${id}/recipients?mode=${mode}`, text, 'text/csv');
}

/** An audit entry's detail as "field value, field value" rather than JSON. */
function detailInWords(detail: unknown): string {
  if (detail === null || detail === undefined || detail === '') return '';
  if (typeof detail !== 'object') return String(detail);
  return Object.entries(detail as Record<string, unknown>).map(([k, v]) => `${k.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`).join(', ').slice(0, 100);
}

/**
 * The options create and update share: what the message is and how it is tracked. Tracking
 * has both forms (--tracking, --no-tracking) so that an option not given stays undefined and
 * changes nothing: the API's default on create, the delivery's current value on update.
 */
function contentOptions(c: Command): Command {
  return c
    .option('--label <text>', 'a name for the delivery, shown in lists (default: its subject)')
    .option('--from <address>', 'sender address')
    .option('--from-name <name>', 'sender name')
    .option('--reply-to <address>', 'the Reply-To address (default: none, replies go to --from)')
    .option('--subject <text>', 'the subject line; Liquid fields like {{ firstName }} allowed')
    .option('--html <file>', 'HTML content file')
    .option('--text <file>', 'text content file')
    .option('--validity <duration>', 'how long to keep trying, e.g. 3.5d, 36h (default 3.5d)')
    .option('--tracking', 'track opens and clicks: an open pixel and signed redirect links in the HTML part (the default)')
    .option('--no-tracking', 'send the content exactly as written: no open pixel, no rewritten link')
    .option('--track-text-links', 'track the bare http(s) links of the text part too (they then read as redirect URLs)')
    .option('--no-track-text-links', 'leave the text part\'s links readable, untracked (the default)');
}

/** The fields the flags set, over a body from --file; `from` keeps what the body (or the delivery) had. */
function applyContentFlags(body: DeliveryBody, o: Record<string, string | boolean | undefined>, currentFrom?: { name: string; address: string }): void {
  if (o.label) body.label = o.label;
  if (o.from || o.fromName) body.from = { name: String(o.fromName ?? body.from?.name ?? currentFrom?.name ?? ''), address: String(o.from ?? body.from?.address ?? currentFrom?.address) };
  if (o.replyTo) body.replyTo = o.replyTo;
  if (o.subject) body.subject = o.subject;
  if (o.html) body.html = readText(String(o.html));
  if (o.text) body.text = readText(String(o.text));
  if (o.validity) body.validity = o.validity;
  if (typeof o.tracking === 'boolean') body.tracking = o.tracking;
  if (typeof o.trackTextLinks === 'boolean') body.trackTextLinks = o.trackTextLinks;
}

export function deliveriesCommand(client: Client): Command {
  const cmd = new Command('deliveries').alias('d').description('prepare, send and follow deliveries');

  contentOptions(
    cmd
      .command('create')
      .description('create a delivery from flags or a JSON file')
      .option('--file <delivery.json>', 'the whole delivery as JSON (same shape as the API body)'),
  )
    .option('--recipients <file>', 'recipients: CSV with an "email" column, or a JSON array')
    .option('--json', 'print the created delivery as JSON')
    .action(async (o) => {
      const api = client();
      const body = (o.file ? parseJsonFile(o.file, readText(o.file)) : {}) as DeliveryBody;
      applyContentFlags(body, o);
      if (!body.from?.address) throw new CliError('--from is required: the sender address (or a --file with "from")');
      if (!body.subject) throw new CliError('--subject is required (or a --file with "subject")');
      if (!body.html && !body.text) throw new CliError('give the content with --html FILE, --text FILE, or both (or a --file with "html" or "text")');
      // Recipients travel with the delivery so that a broken file creates nothing.
      if (o.recipients) {
        const text = readText(o.recipients);
        if (o.recipients.endsWith('.json')) body.recipients = parseJsonFile(o.recipients, text);
        else body.recipientsCsv = text;
      }
      const created = await api.post<DeliveryDetail>('/deliveries', body);
      const view = await api.get<DeliveryDetail>(`/deliveries/${created.id}`);
      if (o.json) printJson(view);
      else process.stdout.write(`created delivery ${view.id} "${view.label}" with ${plural(view.recipients, 'recipient')}${view.tracking ? '' : '; tracking off'}\n`);
    });

  contentOptions(
    cmd
      .command('update <id>')
      .description('change a delivery being edited (content, sender, tracking); it must be analyzed again')
      .option('--file <changes.json>', 'the changes as JSON (same shape as the API body of PATCH /deliveries/:id)'),
  )
    .option('--json', JSON_HELP)
    .action(async (id, o) => {
      const api = client();
      id = idOf('delivery', id);
      const body = (o.file ? parseJsonFile(o.file, readText(o.file)) : {}) as DeliveryBody;
      // A new sender name alone keeps the address (the API wants both): read the current one.
      const current = o.fromName && !o.from && !body.from?.address ? (await api.get<DeliveryDetail>(`/deliveries/${id}`)).from : undefined;
      applyContentFlags(body, o, current);
      if (!Object.keys(body).length) throw new CliError('nothing to change: give at least one option (see --help)');
      const d = await api.patch<DeliveryDetail>(`/deliveries/${id}`, body);
      if (o.json) return printJson(d);
      process.stdout.write(`delivery ${d.id} "${d.label}" updated (tracking: ${trackingInWords(d)}); analyze it again before confirming\n`);
    });

  cmd
    .command('list')
    .description('list deliveries, newest first')
    .option('--state <states>', 'filter: comma-separated states, e.g. in-progress,paused')
    .option('--limit <n>', 'how many', '50')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const q = new URLSearchParams({ limit: String(wholeNumber('--limit', o.limit, 1, 1000)) });
      if (o.state) q.set('state', o.state);
      const { deliveries } = await client().get<DeliveryList>(`/deliveries?${q}`);
      if (o.json) return printJson(deliveries);
      if (!deliveries.length) return void process.stdout.write('no deliveries yet: create one with "estafeta deliveries create"\n');
      printTable(
        ['id', 'label', 'state', 'to deliver', 'sent', 'failed', 'success', 'created'],
        deliveries.map((d) => [d.id, d.label.length > 40 ? `${d.label.slice(0, 39)}…` : d.label, d.stateLabel, num(d.kpis.toDeliver), num(d.kpis.sent), num(d.kpis.failed), d.kpis.toDeliver ? percent(d.kpis.successPercent) : '', dateTime(d.createdAt)]),
      );
    });

  cmd
    .command('show <id>')
    .description('a delivery with its KPIs')
    .option('--json', JSON_HELP)
    .action(async (id, o) => {
      const d = await client().get<DeliveryDetail>(`/deliveries/${idOf('delivery', id)}`);
      if (o.json) printJson(d);
      else showDelivery(d);
    });

  cmd
    .command('import <id> <file>')
    .description('import recipients (CSV with an "email" column, or JSON); replaces the target unless --append')
    .option('--append', 'add to the current target')
    .option('--json', JSON_HELP)
    .action(async (id, file, o) => {
      const r = await uploadRecipients(client(), idOf('delivery', id), file, Boolean(o.append));
      if (o.json) printJson(r);
      else process.stdout.write(`imported ${plural(r.imported, 'recipient')}; the target has ${plural(r.recipients, 'recipient')}\n`);
    });

  cmd
    .command('analyze <id>')
    .description('analyze a delivery and print the report')
    .option('--json', JSON_HELP)
    .action(async (id, o) => {
      const api = client();
      id = idOf('delivery', id);
      await api.post(`/deliveries/${id}/analyze?wait=false`);
      const bar = o.json ? null : progressBar('Analyzing');
      let d: DeliveryDetail;
      for (;;) {
        d = await api.get<DeliveryDetail>(`/deliveries/${id}`);
        if (d.analysisProgress) bar?.update(d.analysisProgress.done, d.analysisProgress.total);
        // The analysis is registered before the POST answers, but its state change may not
        // have committed yet: a delivery still "Being edited" with progress is being analyzed.
        if (d.state !== 'analyzing' && !d.analysisProgress) break;
        await new Promise((r) => setTimeout(r, 300));
      }
      bar?.stop();
      if (d.state === 'failed') throw new CliError(d.lastError ?? 'the analysis failed');
      if (o.json) printJson(d.analysis);
      else if (d.analysis) showAnalysis(d.analysis);
      else throw new CliError(`delivery ${id} has no analysis report (state: ${d.stateLabel})`);
      if (d.analysis?.errors) process.exitCode = 2;
    });

  for (const action of ['confirm', 'pause', 'resume', 'stop']) {
    cmd
      .command(`${action} <id>`)
      .description(`${action} a delivery`)
      .option('--json', JSON_HELP)
      .action(async (id, o) => {
        const d = await client().post<Delivery>(`/deliveries/${idOf('delivery', id)}/${action}`);
        if (o.json) printJson(d);
        else process.stdout.write(`delivery ${d.id}: ${d.stateLabel}\n`);
      });
  }

  cmd
    .command('kpis <id>')
    .description("a delivery's KPIs; --watch follows them until the delivery ends")
    .option('--watch', 'refresh every second with a progress bar')
    .option('--json', JSON_HELP)
    .action(async (id, o) => {
      const api = client();
      id = idOf('delivery', id);
      if (!o.watch) {
        const k = await api.get<Kpis>(`/deliveries/${id}/kpis`);
        return o.json ? printJson(k) : showKpis(k);
      }
      const bar = progressBar('Sending');
      // Sitting at 80 % for hours says nothing: say what the rest waits for, read every 5 s.
      let detail = '';
      let detailAt = 0;
      let processed = -1;
      let movedAt = Date.now();
      for (;;) {
        const d = await api.get<DeliveryDetail>(`/deliveries/${id}`);
        const now = Date.now();
        if (d.kpis.processed !== processed) [processed, movedAt] = [d.kpis.processed, now];
        if (now - detailAt >= 5000) [detail, detailAt] = [await waitingInWords(api, d, { stalled: now - movedAt > 10_000 }), now];
        bar.update(d.kpis.processed, d.kpis.toDeliver, detail);
        if (['finished', 'stopped', 'failed', 'paused'].includes(d.state)) {
          bar.stop();
          return o.json ? printJson(d.kpis) : showDelivery(d);
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    });

  cmd
    .command('links <id>')
    .description("a delivery's tracked links: clicks, unique clicks and share of the clickers, by people")
    .option('--json', JSON_HELP)
    .action(async (id, o) => {
      const r = await client().get<LinkReport>(`/deliveries/${idOf('delivery', id)}/links`);
      if (o.json) return printJson(r);
      showLinks(r);
    });

  cmd
    .command('logs <id>')
    .description("a delivery's logs")
    .option('--status <statuses>', 'pending, taken, sent, failed, ignored, cancelled (comma-separated)')
    .option('--reason <reasons>', 'failure reasons, e.g. "User unknown"')
    .option('--type <types>', 'Hard, Soft, Ignored')
    .option('--search <text>', 'part of the address')
    .option('--domain <domain>', 'only recipients at this domain, e.g. gmail.com')
    .option('--limit <n>', 'how many', '100')
    .option('--after <logId>', 'continue after this log id')
    .option('--json', JSON_HELP)
    .action(async (id, o) => {
      id = idOf('delivery', id);
      const q = new URLSearchParams({ limit: String(wholeNumber('--limit', o.limit, 1, 1000)) });
      if (o.status) q.set('status', o.status);
      if (o.reason) q.set('failureReason', o.reason);
      if (o.type) q.set('failureType', o.type);
      if (o.search) q.set('q', o.search);
      if (o.domain) q.set('domain', o.domain);
      if (o.after) q.set('after', String(idOf('log', o.after)));
      const r = await client().get<LogPage>(`/deliveries/${id}/logs?${q}`);
      if (o.json) return printJson(r);
      if (!r.logs.length) return void process.stdout.write('no logs match\n');
      printTable(['log', 'address', 'status', 'failure', 'attempts', 'updated', 'last reply'], r.logs.map((l) => [l.id, l.address, l.statusLabel, failure(l.failureType, l.failureReason), l.attempts, dateTime(l.updatedAt), (l.reply ?? '').slice(0, 60)]));
      // The total of the filter, when the API gives it (newer APIs do).
      const total = (r as { total?: unknown }).total;
      const of = typeof total === 'number' && total > r.logs.length ? ` of ${num(total)}` : '';
      process.stdout.write(r.next ? `${plural(r.logs.length, 'log')}${of} shown; the next ones: --after ${r.next}\n` : `${plural(r.logs.length, 'log')}${of}\n`);
    });

  cmd
    .command('log <logIdOrMessageId>')
    .description('one delivery log with its history, by log id or by the Message-ID of its message')
    .option('--json', JSON_HELP)
    .action(async (ref: string, o) => {
      const api = client();
      const l = await api.get<LogDetail>(ref.includes('@') ? `/logs/by-message-id?messageId=${encodeURIComponent(ref)}` : `/logs/${idOf('log', ref)}`);
      if (o.json) return printJson(l);
      // A click names its link: read the delivery's links only when the history has clicks.
      const links = l.history.some((e) => e.type === 'clicked') ? linkNames(await api.get<LinkReport>(`/deliveries/${l.deliveryId}/links`)) : undefined;
      showLog(l, links);
    });

  cmd
    .command('audit <id>')
    .description('who did what to a delivery, and when')
    .option('--json', JSON_HELP)
    .action(async (id, o) => {
      const { entries } = await client().get<AuditTrail>(`/deliveries/${idOf('delivery', id)}/audit`);
      if (o.json) return printJson(entries);
      printTable(['at', 'who', 'what', 'detail'], entries.map((e) => [dateTime(e.at), e.actor, e.action.replace(/-/g, ' '), detailInWords(e.detail)]));
    });
  return cmd;
}
