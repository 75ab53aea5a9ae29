/**
 * `estafeta streams ...`: message streams, which take messages from applications (POST
 * /api/v1/messages or SMTP submission) and never finish: list them with their last 24 hours,
 * create, show, change the settings, pause and resume; their KPIs over a window (a stream has
 * no total to report) and their logs; and their SMTP credentials (the password is printed
 * once, when created). A stream is named by its id or its name. Only talks to the API.
 */
import { Command } from 'commander';
import type { ApiClient } from '../client.ts';
import { CliError } from '../client.ts';
import { idOf, wholeNumber } from '../args.ts';
import { JSON_HELP, printJson, printPairs, printTable } from '../format.ts';
import { dateTime, failure, fromNow, num, percent, plural } from '../words.ts';
import { showLog } from '../delivery-views.ts';
import type { LogDetail, LogPage, Stream, StreamList, StreamReport, StreamSummary } from '../../api/contract.ts';

interface Credential {
  id: number;
  streamId: number;
  username: string;
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
}

const WINDOW_HELP = 'how far back: e.g. 1h, 24h, 7d (at most 90 days)';

/** The stream's id: a number is one; a name is looked up in the list. */
async function streamIdOf(api: ApiClient, ref: string): Promise<number> {
  if (/^\d+$/.test(ref.trim())) return idOf('stream', ref);
  const { streams } = await api.get<StreamList>('/streams');
  const found = streams.find((s) => s.name === ref.trim());
  if (!found) throw new CliError(`no stream is named "${ref}"; "estafeta streams list" shows them`, 4);
  return found.id;
}

/** "2 days", "1 hour": a validity as people say it. */
function validityInWords(seconds: number): string {
  if (seconds % 86_400 === 0) return plural(seconds / 86_400, 'day');
  if (seconds % 3600 === 0) return plural(seconds / 3600, 'hour');
  if (seconds % 60 === 0) return plural(seconds / 60, 'minute');
  return plural(seconds, 'second');
}

/** --tracking on|off, --quarantine on|off: a switch typed in words. */
function onOff(option: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (['on', 'yes', 'true'].includes(value)) return true;
  if (['off', 'no', 'false'].includes(value)) return false;
  throw new CliError(`${option} is on or off: "${value}" is neither`);
}

const domainsOf = (values: string[] | undefined) => values?.flatMap((v) => v.split(',')).map((d) => d.trim()).filter(Boolean);
const collect = (value: string, previous: string[] = []) => [...previous, value];

function showStream(s: Stream): void {
  printPairs([
    ['Stream', `${s.id} ${s.name}`],
    ['State', s.stateLabel],
    ['From domains', s.fromDomains.join(', ')],
    ['IP pool', s.ipPool ?? 'default'],
    ['Validity', validityInWords(s.validitySeconds)],
    ['Tracking', s.tracking ? 'opens and clicks tracked' : 'opens and clicks not tracked'],
    ['Quarantine', s.applyQuarantine ? 'quarantined and denylisted recipients are refused' : 'does not apply: every recipient is sent to'],
    ['List-Unsubscribe', s.listUnsubscribe ? 'added to each message' : 'not added'],
    ['Created', dateTime(s.createdAt)],
  ]);
}

export function streamsCommand(client: () => ApiClient): Command {
  const cmd = new Command('streams').description('message streams: applications send through them (API or SMTP); they never finish');

  cmd
    .command('list')
    .description('the streams with their figures over a window (default: the last 24 hours)')
    .option('--window <duration>', WINDOW_HELP, '24h')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const r = await client().get<StreamSummary>(`/streams/summary?since=${encodeURIComponent(o.window)}`);
      if (o.json) return printJson(r);
      if (!r.streams.length) return void process.stdout.write('no streams yet: create one with "estafeta streams create --name NAME --from-domain DOMAIN"\n');
      printTable(['id', 'name', 'state', 'from domains', 'messages', 'delivered', 'bounced', 'last message'], r.streams.map((s) => [
        s.id,
        s.name,
        s.stateLabel,
        s.fromDomains.join(', '),
        num(s.window.messages),
        s.window.messages ? percent(s.window.deliveredPercent) : '',
        s.window.messages ? percent(s.window.bouncedPercent) : '',
        s.window.lastMessageAt ? fromNow(s.window.lastMessageAt) : 'none yet',
      ]));
      process.stdout.write(`figures over the last ${o.window} (since ${dateTime(r.from)})\n`);
    });

  cmd
    .command('create')
    .description('create a stream: it takes messages at once, from the domains given')
    .requiredOption('--name <name>', 'a name applications send to, e.g. receipts')
    .requiredOption('--from-domain <domain>', 'a domain From addresses may use (repeat, or comma-separate)', collect)
    .option('--ip-pool <pool>', 'the sending IP pool (default: the default pool)')
    .option('--validity <duration>', 'how long the MTA tries a message, e.g. 2d')
    .option('--tracking <on|off>', 'an open pixel and tracked links in HTML messages (default on)')
    .option('--quarantine <on|off>', 'refuse quarantined and denylisted recipients (default on)')
    .option('--list-unsubscribe <on|off>', 'add List-Unsubscribe to each message (default off)')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const body = { name: o.name, fromDomains: domainsOf(o.fromDomain), ipPool: o.ipPool, validity: o.validity, tracking: onOff('--tracking', o.tracking), applyQuarantine: onOff('--quarantine', o.quarantine), listUnsubscribe: onOff('--list-unsubscribe', o.listUnsubscribe) };
      const s = await client().post<Stream>('/streams', body);
      if (o.json) return printJson(s);
      process.stdout.write(`created stream ${s.id} "${s.name}": ${s.stateLabel}, from ${s.fromDomains.join(', ')}\n`);
    });

  cmd
    .command('show <stream>')
    .description('one stream (id or name) and its settings')
    .option('--json', JSON_HELP)
    .action(async (ref, o) => {
      const api = client();
      const s = await api.get<Stream>(`/streams/${await streamIdOf(api, ref)}`);
      if (o.json) return printJson(s);
      showStream(s);
    });

  cmd
    .command('update <stream>')
    .description('change settings; messages sent from now on follow them')
    .option('--name <name>', 'a new name')
    .option('--from-domain <domain>', 'the domains From addresses may use, all of them (repeat, or comma-separate)', collect)
    .option('--ip-pool <pool>', 'the sending IP pool ("default" for the default pool)')
    .option('--validity <duration>', 'how long the MTA tries a message, e.g. 2d')
    .option('--tracking <on|off>', 'an open pixel and tracked links in HTML messages')
    .option('--quarantine <on|off>', 'refuse quarantined and denylisted recipients')
    .option('--list-unsubscribe <on|off>', 'add List-Unsubscribe to each message')
    .option('--json', JSON_HELP)
    .action(async (ref, o) => {
      const api = client();
      const body = { name: o.name, fromDomains: domainsOf(o.fromDomain), ipPool: o.ipPool === undefined ? undefined : o.ipPool === 'default' ? null : o.ipPool, validity: o.validity, tracking: onOff('--tracking', o.tracking), applyQuarantine: onOff('--quarantine', o.quarantine), listUnsubscribe: onOff('--list-unsubscribe', o.listUnsubscribe) };
      if (Object.values(body).every((v) => v === undefined)) throw new CliError('nothing to change: give at least one of --name, --from-domain, --ip-pool, --validity, --tracking, --quarantine, --list-unsubscribe');
      const s = await api.patch<Stream>(`/streams/${await streamIdOf(api, ref)}`, body);
      if (o.json) return printJson(s);
      process.stdout.write(`stream ${s.id} "${s.name}" updated; messages sent from now on follow these settings\n`);
      showStream(s);
    });

  for (const action of ['pause', 'resume'] as const) {
    cmd
      .command(`${action} <stream>`)
      .description(action === 'pause' ? 'pause: messages in the MTA are held, new ones refused' : 'resume a paused stream')
      .action(async (ref) => {
        const api = client();
        const s = await api.post<Stream>(`/streams/${await streamIdOf(api, ref)}/${action}`);
        process.stdout.write(`stream ${s.id} "${s.name}": ${s.stateLabel}\n`);
      });
  }

  cmd
    .command('kpis <stream>')
    .description('the messages of a window and what became of them, and failures by reason')
    .option('--window <duration>', WINDOW_HELP, '24h')
    .option('--json', JSON_HELP)
    .action(async (ref, o) => {
      const api = client();
      const id = await streamIdOf(api, ref);
      const r = await api.get<StreamReport>(`/streams/${id}/report?since=${encodeURIComponent(o.window)}`);
      if (o.json) return printJson(r);
      const k = r.kpis;
      const share = (n: number) => (k.messages ? percent((n / k.messages) * 100) : '');
      process.stdout.write(`stream ${id}, messages written over the last ${o.window} (since ${dateTime(r.from)}), by their status now\n`);
      printTable(['', 'messages', 'of messages'], [
        ['Messages', num(k.messages), k.messages ? '100 %' : ''],
        ['Delivered', num(k.sent), share(k.sent)],
        ['Bounced', num(k.failed), share(k.failed)],
        ['  of which hard', num(k.hardBounces), share(k.hardBounces)],
        ['Not final yet', num(k.waiting), share(k.waiting)],
        ['Refused at sending (quarantine)', num(k.ignored), share(k.ignored)],
        ['Cancelled', num(k.cancelled), share(k.cancelled)],
        ['Complaints', num(k.complaints), share(k.complaints)],
        ['Opened', num(k.opened), share(k.opened)],
        ['Clicked', num(k.clicked), share(k.clicked)],
      ]);
      process.stdout.write(`last message: ${k.lastMessageAt ? `${dateTime(k.lastMessageAt)} (${fromNow(k.lastMessageAt)})` : 'none yet'}\n`);
      if (!r.failures.byReason.length) return;
      process.stdout.write('\nFailures by reason\n');
      printTable(['type', 'reason', 'messages', 'of failures'], r.failures.byReason.map((f) => [f.failureType, f.failureReason, num(f.count), percent(f.percentOfFailures)]));
    });

  cmd
    .command('logs <stream>')
    .description("a stream's logs, newest last; or one message's log by its Message-ID")
    .option('--status <statuses>', 'pending, taken, sent, failed, ignored, cancelled (comma-separated)')
    .option('--reason <reasons>', 'failure reasons, e.g. "User unknown"')
    .option('--search <text>', 'part of the address')
    .option('--message-id <id>', 'the log of the message with this Message-ID, with its history')
    .option('--limit <n>', 'how many', '100')
    .option('--after <logId>', 'continue after this log id')
    .option('--json', JSON_HELP)
    .action(async (ref, o) => {
      const api = client();
      const id = await streamIdOf(api, ref);
      if (o.messageId) {
        const l = await api.get<LogDetail>(`/logs/by-message-id?messageId=${encodeURIComponent(o.messageId)}`);
        if (l.deliveryId !== id) throw new CliError(`the message ${o.messageId} is not a message of stream ${id}`, 4);
        return o.json ? printJson(l) : showLog(l);
      }
      const q = new URLSearchParams({ limit: String(wholeNumber('--limit', o.limit, 1, 1000)) });
      if (o.status) q.set('status', o.status);
      if (o.reason) q.set('failureReason', o.reason);
      if (o.search) q.set('q', o.search);
      if (o.after) q.set('after', String(idOf('log', o.after)));
      const r = await api.get<LogPage>(`/streams/${id}/logs?${q}`);
      if (o.json) return printJson(r);
      if (!r.logs.length) return void process.stdout.write('no logs match\n');
      printTable(['log', 'address', 'status', 'failure', 'attempts', 'updated', 'last reply'], r.logs.map((l) => [l.id, l.address, l.statusLabel, failure(l.failureType, l.failureReason), l.attempts, dateTime(l.updatedAt), (l.reply ?? '').slice(0, 60)]));
      const of = r.total > r.logs.length ? ` of ${num(r.total)}` : '';
      process.stdout.write(r.next ? `${plural(r.logs.length, 'log')}${of} shown; the next ones: --after ${r.next}\n` : `${plural(r.logs.length, 'log')}${of}\n`);
    });

  const creds = cmd.command('credentials').description("a stream's SMTP credentials, for applications that submit through SMTP (admins)");
  creds
    .command('list <stream>')
    .description('the credentials (never their passwords)')
    .option('--json', JSON_HELP)
    .action(async (ref, o) => {
      const api = client();
      const id = await streamIdOf(api, ref);
      const { credentials } = await api.get<{ credentials: Credential[] }>(`/streams/${id}/smtp-credentials`);
      if (o.json) return printJson(credentials);
      if (!credentials.length) return void process.stdout.write(`stream ${id} has no SMTP credentials: create some with "estafeta streams credentials create ${ref}"\n`);
      printTable(['id', 'user name', 'created', 'created by', 'last used'], credentials.map((c) => [c.id, c.username, dateTime(c.createdAt), c.createdBy, c.lastUsedAt ? dateTime(c.lastUsedAt) : 'never']));
    });
  creds
    .command('create <stream>')
    .description('create credentials: the password is printed once')
    .option('--json', JSON_HELP)
    .action(async (ref, o) => {
      const api = client();
      const id = await streamIdOf(api, ref);
      const c = await api.post<Credential & { password: string }>(`/streams/${id}/smtp-credentials`);
      if (o.json) return printJson(c);
      process.stdout.write(`created SMTP credentials ${c.id} for stream ${id}\nuser name: ${c.username}\npassword:  ${c.password}\n`);
      process.stderr.write('Store this password now: it is shown only once (Estafeta keeps a hash). Submit with STARTTLS, then AUTH PLAIN or LOGIN.\n');
    });
  creds
    .command('revoke <stream> <credentialId>')
    .description('revoke credentials: a session signed in with them is refused at its next message')
    .action(async (ref, credentialId) => {
      const api = client();
      const id = await streamIdOf(api, ref);
      const cid = idOf('credential', credentialId);
      await api.delete(`/streams/${id}/smtp-credentials/${cid}`);
      process.stdout.write(`SMTP credentials ${cid} of stream ${id} revoked\n`);
    });
  return cmd;
}
