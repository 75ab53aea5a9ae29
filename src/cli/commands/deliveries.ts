/**
 * `estafeta deliveries ...`: create, list, show, import recipients, analyze (with a progress
 * bar), confirm, pause, resume, stop, KPIs and logs, all through the HTTP API.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { ApiClient } from '../client.ts';
import { CliError } from '../client.ts';
import { idOf, wholeNumber } from '../args.ts';
import { JSON_HELP, printJson, printPairs, printTable, progressBar } from '../format.ts';
import type { Analysis, AuditTrail, Delivery, DeliveryDetail, DeliveryList, Kpis, LogDetail, LogPage, RecipientsImported } from '../../api/contract.ts';

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

function showDelivery(d: DeliveryDetail): void {
  const k = d.kpis;
  printPairs([
    ['Delivery', `${d.id} ${d.label}`],
    ['State', `${d.stateLabel} (${d.stateCode})`],
    ['From', d.from.name ? `${d.from.name} <${d.from.address}>` : d.from.address],
    ['Subject', d.subject],
    ['Recipients', d.recipients],
    ['Validity', `${Math.round((d.validitySeconds / 3600) * 10) / 10} h${d.validUntil ? ` (until ${d.validUntil})` : ''}`],
    ['To deliver', k.toDeliver],
    ['Taken into account', k.takenIntoAccount],
    ['Processed', k.processed],
    ['Sent', k.sent],
    ['Failed', k.failed],
    ['Success', `${k.successPercent} %`],
  ]);
  if (d.lastError) process.stdout.write(`Last error: ${d.lastError}\n`);
}

function showAnalysis(a: Analysis): void {
  for (const l of a.lines) {
    process.stdout.write(`${l.level.toUpperCase().padEnd(7)} ${l.message}\n`);
    for (const s of l.samples ?? []) process.stdout.write(`          ${s}\n`);
  }
  process.stdout.write(`\n${a.counts.targeted} targeted, ${a.counts.toDeliver} to deliver, ${a.counts.excluded} excluded; ${a.errors} error(s), ${a.warnings} warning(s)${a.errors ? ' (confirmation is blocked)' : ''}\n`);
}

export function deliveriesCommand(client: Client): Command {
  const cmd = new Command('deliveries').alias('d').description('prepare, send and follow deliveries');

  cmd
    .command('create')
    .description('create a delivery from flags or a JSON file')
    .option('--file <delivery.json>', 'the whole delivery as JSON (same shape as the API body)')
    .option('--label <text>', 'a name for the delivery, shown in lists (default: its subject)')
    .option('--from <address>', 'sender address')
    .option('--from-name <name>', 'sender name')
    .option('--reply-to <address>', 'the Reply-To address (default: none, replies go to --from)')
    .option('--subject <text>', 'the subject line; Liquid fields like {{ firstName }} allowed')
    .option('--html <file>', 'HTML content file')
    .option('--text <file>', 'text content file')
    .option('--validity <duration>', 'how long to keep trying, e.g. 3.5d, 36h (default 3.5d)')
    .option('--recipients <file>', 'recipients: CSV with an "email" column, or a JSON array')
    .option('--json', 'print the created delivery as JSON')
    .action(async (o) => {
      const api = client();
      const body: DeliveryBody = o.file ? JSON.parse(readText(o.file)) : {};
      if (o.label) body.label = o.label;
      if (o.from || o.fromName) body.from = { name: o.fromName ?? body.from?.name ?? '', address: o.from ?? body.from?.address };
      if (o.replyTo) body.replyTo = o.replyTo;
      if (o.subject) body.subject = o.subject;
      if (o.html) body.html = readText(o.html);
      if (o.text) body.text = readText(o.text);
      if (o.validity) body.validity = o.validity;
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
      else process.stdout.write(`created delivery ${view.id} "${view.label}" with ${view.recipients} recipients\n`);
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
      printTable(['id', 'label', 'state', 'created', 'started'], deliveries.map((d) => [d.id, d.label, d.stateLabel, d.createdAt, d.startedAt]));
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
      else process.stdout.write(`imported ${r.imported} recipients; the target has ${r.recipients}\n`);
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
        return o.json ? printJson(k) : printPairs(Object.entries(k).map(([a, b]) => [a, typeof b === 'object' ? JSON.stringify(b) : b]));
      }
      const bar = progressBar('Sending');
      for (;;) {
        const d = await api.get<DeliveryDetail>(`/deliveries/${id}`);
        bar.update(d.kpis.processed, d.kpis.toDeliver);
        if (['finished', 'stopped', 'failed', 'paused'].includes(d.state)) {
          bar.stop();
          return o.json ? printJson(d.kpis) : showDelivery(d);
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    });

  cmd
    .command('logs <id>')
    .description("a delivery's logs")
    .option('--status <statuses>', 'pending, taken, sent, failed, ignored, cancelled (comma-separated)')
    .option('--reason <reasons>', 'failure reasons, e.g. "User unknown"')
    .option('--type <types>', 'Hard, Soft, Ignored')
    .option('--search <text>', 'part of the address')
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
      if (o.after) q.set('after', String(idOf('log', o.after)));
      const r = await client().get<LogPage>(`/deliveries/${id}/logs?${q}`);
      if (o.json) return printJson(r);
      printTable(['log', 'address', 'status', 'type', 'reason', 'reply'], r.logs.map((l) => [l.id, l.address, l.statusLabel, l.failureType, l.failureReason, (l.reply ?? '').slice(0, 60)]));
      if (r.next) process.stdout.write(`more: --after ${r.next}\n`);
    });

  cmd
    .command('log <logIdOrMessageId>')
    .description('one delivery log with its history, by log id or by the Message-ID of its message')
    .option('--json', JSON_HELP)
    .action(async (ref: string, o) => {
      const l = await client().get<LogDetail>(ref.includes('@') ? `/logs/by-message-id?messageId=${encodeURIComponent(ref)}` : `/logs/${idOf('log', ref)}`);
      if (o.json) return printJson(l);
      printPairs([['Log', l.id], ['Delivery', l.deliveryId], ['Address', l.address], ['Message-ID', l.messageId], ['Status', l.statusLabel], ['Failure', [l.failureType, l.failureReason].filter(Boolean).join(', ') || null], ['Reply', l.reply], ['Attempts', l.attempts]]);
      printTable(['at', 'event', 'reply'], l.history.map((e) => [e.occurredAt, e.type, String(e.payload.reply ?? '')]));
    });

  cmd
    .command('audit <id>')
    .description('who did what to a delivery, and when')
    .option('--json', JSON_HELP)
    .action(async (id, o) => {
      const { entries } = await client().get<AuditTrail>(`/deliveries/${idOf('delivery', id)}/audit`);
      if (o.json) return printJson(entries);
      printTable(['at', 'actor', 'action', 'detail'], entries.map((e) => [e.at, e.actor, e.action, e.detail ? JSON.stringify(e.detail) : '']));
    });
  return cmd;
}
