/**
 * `estafeta quarantine ...` and `estafeta bounces ...`: the quarantine (list, one address with
 * its trail of who changed it, the unsubscribed, release one, release in bulk after a provider
 * outage, add known-bad addresses, outage incidents) and the bounce qualification table (list,
 * re-qualify), through the API.
 */
import { Command } from 'commander';
import type { ApiClient } from '../client.ts';
import { CliError } from '../client.ts';
import { idOf, wholeNumber } from '../args.ts';
import { dateTime, num, plural } from '../words.ts';
import { JSON_HELP, printJson, printPairs, printTable } from '../format.ts';
import type { BulkRelease, InboundMailList, IncidentList, IncidentResolved, Qualification, QualificationList, QuarantineEntry, QuarantineEntryDetail, QuarantinePage, QuarantineStats } from '../../api/contract.ts';

/** The subject a bounce's parsed detail names, if any (detail is free-form JSON). */
const subjectOf = (detail: unknown): string =>
  typeof detail === 'object' && detail !== null && 'subject' in detail && typeof detail.subject === 'string' ? detail.subject : '';

/** An unsubscription's denylisting: the feedback service writes its text as "unsubscribed …". */
const isUnsubscribed = (e: QuarantineEntry) => e.status === 'denylisted' && (e.errorText ?? '').startsWith('unsubscribed');

const entryOf = (api: ApiClient, address: string) => api.get<QuarantineEntryDetail>(`/quarantine/entry?address=${encodeURIComponent(address)}`);

/** Who did what, oldest first: "recipient" for an unsubscription, "system" for bounces, the operator's name for the rest. */
function showEntry(e: QuarantineEntryDetail): void {
  // A Valid address keeps its last reason in the table; the trail says what happened since.
  const failed = e.status !== 'valid';
  printPairs([
    ['Address', e.address],
    ['Status', e.statusLabel],
    ...(failed ? ([
      ['Failure', [e.failureType, e.failureReason].filter(Boolean).join(' · ') || null],
      ['Errors', num(e.errorCount)],
      ['Last error', dateTime(e.lastErrorAt) || null],
      ['Text', e.errorText],
    ] as [string, unknown][]) : []),
    ['Delivery', e.deliveryId],
    ['Since', dateTime(e.createdAt)],
    ['Changed', dateTime(e.updatedAt)],
  ]);
  if (isUnsubscribed(e)) process.stdout.write('\nThe recipient unsubscribed: release only if they asked to be on the list again.\n');
  if (!e.history.length) return void process.stdout.write('\nNo changes recorded.\n');
  process.stdout.write('\nHistory\n');
  printTable(['at', 'who', 'what', 'detail'], e.history.map((h) => [dateTime(h.at), h.actor, h.action, (h.detail ?? '').slice(0, 80)]));
}

export function quarantineCommand(client: () => ApiClient): Command {
  const cmd = new Command('quarantine').description('addresses in quarantine: list, release, bulk release, outage incidents');

  cmd
    .command('list')
    .description('addresses in the quarantine table')
    .option('--status <statuses>', 'with-errors, quarantine, denylisted, suspected, valid (comma-separated)')
    .option('--domain <domain>', 'only addresses at this domain')
    .option('--reason <reasons>', 'failure reasons, e.g. "User unknown"')
    .option('--from <time>', 'changed at or after (ISO 8601)')
    .option('--to <time>', 'changed at or before (ISO 8601)')
    .option('--search <text>', 'part of the address')
    .option('--limit <n>', 'how many', '100')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const q = new URLSearchParams({ limit: o.limit });
      for (const [k, v] of [['status', o.status], ['domain', o.domain], ['reason', o.reason], ['from', o.from], ['to', o.to], ['q', o.search]]) if (v) q.set(k, v);
      const r = await client().get<QuarantinePage>(`/quarantine?${q}`);
      if (o.json) return printJson(r);
      printTable(['address', 'status', 'reason', 'errors', 'last error', 'text'], r.entries.map((e) => [e.address, e.statusLabel, e.failureReason ?? '', e.errorCount, dateTime(e.lastErrorAt), (e.errorText ?? '').slice(0, 50)]));
    });

  cmd
    .command('show <address>')
    .description('one address: its status, its last error and the trail of who changed it (the recipient, the system, an operator)')
    .option('--json', JSON_HELP)
    .action(async (address, o) => {
      const e = await entryOf(client(), address);
      if (o.json) return printJson(e);
      showEntry(e);
    });

  cmd
    .command('unsubscribed')
    .description('addresses denylisted because their recipient unsubscribed, most recent first')
    .option('--domain <domain>', 'only addresses at this domain')
    .option('--search <text>', 'part of the address')
    .option('--limit <n>', 'how many', '100')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const api = client();
      const limit = wholeNumber('--limit', o.limit, 1, 10_000);
      // Denylisted addresses include ones an operator added: keep those whose text says unsubscribed.
      const found: QuarantineEntry[] = [];
      for (let after: string | null = null; found.length < limit; ) {
        const q = new URLSearchParams({ status: 'denylisted', order: 'recent', limit: '1000' });
        for (const [k, v] of [['domain', o.domain], ['q', o.search], ['after', after]]) if (v) q.set(k, v);
        const page = await api.get<QuarantinePage>(`/quarantine?${q}`);
        found.push(...page.entries.filter(isUnsubscribed));
        if (page.next === null) break;
        after = page.next;
      }
      const entries = found.slice(0, limit);
      if (o.json) return printJson(entries);
      if (!entries.length) return void process.stdout.write('no address is denylisted by an unsubscription\n');
      printTable(['address', 'since', 'how', 'delivery'], entries.map((e) => [e.address, dateTime(e.lastErrorAt ?? e.updatedAt), (e.errorText ?? '').replace(/^unsubscribed /, ''), e.deliveryId ?? '']));
      process.stdout.write(`${plural(entries.length, 'address', 'addresses')}; "estafeta quarantine show ADDRESS" says who did what\n`);
    });

  cmd
    .command('stats')
    .description('how many addresses per status')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const r = await client().get<QuarantineStats>('/quarantine/stats');
      if (o.json) return printJson(r);
      // The API names statuses as machine names (with-errors): as words here.
      printTable(['status', 'addresses'], Object.entries(r).map(([status, n]) => [status.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase()), num(n)]));
    });

  cmd
    .command('release <address>')
    .description('set one address back to Valid; the trail records who released it')
    .option('--json', JSON_HELP)
    .action(async (address, o) => {
      const api = client();
      const before = await entryOf(api, address);
      const r = await api.post<QuarantineEntry>('/quarantine/release', { address });
      if (o.json) return printJson(r);
      // The release is in the trail under the caller's name (a user, or an API key's name).
      const by = (await entryOf(api, address)).history.at(-1)?.actor;
      process.stdout.write(`${r.address}: ${r.statusLabel} (was ${before.statusLabel})\n`);
      if (isUnsubscribed(before)) process.stdout.write('The recipient had unsubscribed: they will be mailed again.\n');
      process.stdout.write(`The trail records the release${by ? ` by ${by}` : ''}: "estafeta quarantine show ${r.address}"\n`);
    });

  cmd
    .command('release-bulk')
    .description("release a domain's quarantined addresses changed within a time window (after a provider outage)")
    .requiredOption('--domain <domain>', 'the recipient domain whose provider had the outage, e.g. icloud.com')
    .requiredOption('--from <time>', 'ISO 8601, e.g. 2026-04-26T07:00:00Z')
    .requiredOption('--to <time>', 'ISO 8601, the end of the outage, e.g. 2026-04-26T13:00:00Z')
    .option('--dry-run', 'only count')
    .action(async (o) => {
      const dry = await client().post<BulkRelease>('/quarantine/release-bulk', { domain: o.domain, from: o.from, to: o.to, dryRun: true });
      if (o.dryRun) return void process.stdout.write(`${plural(dry.count, 'address', 'addresses')} would be released\n`);
      const done = await client().post<BulkRelease>('/quarantine/release-bulk', { domain: o.domain, from: o.from, to: o.to });
      process.stdout.write(`${plural(done.count, 'address', 'addresses')} released\n`);
    });

  cmd
    .command('add <address>')
    .description('add a known-bad address (quarantine, or --denylist)')
    .option('--denylist', 'denylist the address (never mailed again) instead of quarantining it')
    .option('--reason <reason>', 'failure reason', 'User unknown')
    .action(async (address, o) => {
      const r = await client().post<QuarantineEntry>('/quarantine', { address, status: o.denylist ? 'denylisted' : 'quarantine', reason: o.denylist ? 'Denylisted address' : o.reason });
      process.stdout.write(`${r.address}: ${r.statusLabel}\n`);
    });

  cmd
    .command('incidents')
    .description("the outage guard's incidents: domains whose new quarantines were held as suspected")
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const { incidents } = await client().get<IncidentList>('/quarantine/incidents');
      if (o.json) return printJson(incidents);
      printTable(['id', 'domain', 'since', 'hard bounces', 'usually', 'held', 'suspected now', 'resolution'], incidents.map((i) => [i.id, i.domain, dateTime(i.startedAt), `${i.hardRate} %`, `${i.baselineRate} %`, i.held, i.suspectedNow, i.resolution ?? 'open']));
    });

  cmd
    .command('resolve <id> <decision>')
    .description('resolve an incident: confirm (quarantine the held addresses) or release (set them Valid)')
    .action(async (id, decision) => {
      if (decision !== 'confirm' && decision !== 'release') throw new CliError(`the decision is confirm or release, not "${decision}"`);
      id = idOf('incident', id);
      const r = await client().post<IncidentResolved>(`/quarantine/incidents/${id}/${decision}`);
      process.stdout.write(`incident ${id}: ${plural(r.changed, 'address', 'addresses')} ${decision === 'confirm' ? 'quarantined' : 'released'}\n`);
    });
  return cmd;
}

export function bouncesCommand(client: () => ApiClient): Command {
  const cmd = new Command('bounces').description('bounce qualification: failure texts, re-qualification, inbound mail');

  cmd
    .command('qualifications')
    .description('distinct failure texts, most frequent first')
    .option('--status <status>', 'to-qualify, keep, ignore')
    .option('--search <text>', 'part of the failure text')
    .option('--limit <n>', 'how many', '50')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const q = new URLSearchParams({ limit: o.limit });
      if (o.status) q.set('status', o.status);
      if (o.search) q.set('q', o.search);
      const { entries } = await client().get<QualificationList>(`/bounces/qualifications?${q}`);
      if (o.json) return printJson(entries);
      printTable(['occurrences', 'status', 'type', 'reason', 'text (normalized)'], entries.map((e) => [e.occurrences, e.status, e.failureType ?? '', e.failureReason ?? '', e.key.slice(0, 80)]));
    });

  cmd
    .command('requalify <key>')
    .description('qualify a failure text (its normalized key, as listed); later failures with it follow')
    .requiredOption('--type <type>', 'Hard, Soft, Ignored')
    .requiredOption('--reason <reason>', 'e.g. "User unknown", "Mailbox full", "Refused"')
    .option('--ignore', 'status ignore: it never quarantines')
    .action(async (key, o) => {
      const r = await client().post<Qualification>('/bounces/qualifications/requalify', { key, failureType: o.type, failureReason: o.reason, status: o.ignore ? 'ignore' : 'keep' });
      process.stdout.write(`${r.key}: ${r.failureType}, ${r.failureReason} (${r.status})\n`);
    });

  cmd
    .command('inbound')
    .description('mail received by the bounce listener, newest first')
    .option('--status <status>', 'processed, to-qualify, unmatched, unparsable, ignored')
    .option('--limit <n>', 'how many', '50')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const q = new URLSearchParams({ limit: o.limit });
      if (o.status) q.set('status', o.status);
      const { mails } = await client().get<InboundMailList>(`/bounces/inbound?${q}`);
      if (o.json) return printJson(mails);
      printTable(['id', 'received', 'kind', 'status', 'log', 'subject'], mails.map((m) => [m.id, dateTime(m.receivedAt), m.kind ?? '', m.status, m.logId ?? '', subjectOf(m.detail).slice(0, 50)]));
    });
  return cmd;
}
