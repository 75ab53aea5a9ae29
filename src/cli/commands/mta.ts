/**
 * `estafeta mta ...`: the delivery engine through the API: ready queues, spooled messages
 * and why they wait, adaptations in force (list, cancel, suspend or throttle by hand),
 * sending IPs with warm-up progress, the MX rules in force, and the drain that takes the
 * API process's MTA out of service.
 */
import { Command } from 'commander';
import type { ApiClient } from '../client.ts';
import { idOf } from '../args.ts';
import { dateTime, moment, num } from '../words.ts';
import { JSON_HELP, printJson, printTable } from '../format.ts';
import type { AdaptationCreated, AdaptationList, DrainReport, MtaQueues, MxRules, SendingIps, SpooledMessages } from '../../api/contract.ts';

export function mtaCommand(client: () => ApiClient): Command {
  const cmd = new Command('mta').description('the delivery engine: queues, adaptations, sending IPs, MX rules');

  cmd
    .command('queues')
    .description("ready queues per MX site and sending IP, with their limits, and the spool's totals")
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const r = await client().get<MtaQueues>('/mta/queues');
      if (o.json) return printJson(r);
      process.stdout.write(`spool: ${num(r.spool.total)} messages (${num(r.spool.due)} due, ${num(r.spool.leased)} being sent, ${num(r.spool.held)} paused or stopped)${r.running ? '' : ' — no MTA runs in the API process'}\n`);
      if (r.mtaProcesses > 1) process.stdout.write(`${r.mtaProcesses} MTA processes share every MX rule: the rates below are this process's share\n`);
      printTable(['site', 'sending IP', 'rule', 'queued', 'conns', 'per path', 'rate/min', 'factor', 'suspended until'], r.queues.map((q) => [q.site, q.source ?? 'default', q.rule, q.queued, q.connections, q.maxConnectionsPerPath, q.messagesPerMinute ?? (q.messagesPerHour ? Math.round(q.messagesPerHour / 60) : '-'), q.factor, moment(q.suspendedUntil)]));
    });

  cmd
    .command('messages')
    .description('spooled messages, soonest first, and why each one waits')
    .option('--domain <domain>', 'only messages to this recipient domain')
    .option('--delivery <id>', 'only messages of this delivery')
    .option('--limit <n>', 'how many', '50')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const q = new URLSearchParams({ limit: o.limit });
      if (o.domain) q.set('domain', o.domain);
      if (o.delivery) q.set('delivery', String(idOf('delivery', o.delivery)));
      const { messages } = await client().get<SpooledMessages>(`/mta/messages?${q}`);
      if (o.json) return printJson(messages);
      printTable(['id', 'recipient', 'state', 'attempts', 'next attempt', 'why'], messages.map((m) => [m.id, m.rcptTo, m.state, m.attempts, moment(m.nextAttemptAt), (m.waitReason ?? m.lastReply ?? '').slice(0, 70)]));
    });

  cmd
    .command('adaptations')
    .description('suspensions and throttles in force, with why, since and until when')
    .option('--all', 'include ended and cancelled ones')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const { adaptations } = await client().get<AdaptationList>(`/mta/adaptations?all=${o.all ? 'true' : 'false'}`);
      if (o.json) return printJson(adaptations);
      printTable(['id', 'site', 'sending IP', 'rule', 'action', 'since', 'until', 'why'], adaptations.map((a) => [a.id, a.site, a.source ?? 'all', a.rule, a.action === 'throttle' ? `throttle ×${a.factor}` : a.action, dateTime(a.since), a.cancelledAt ? `cancelled ${dateTime(a.cancelledAt)}` : moment(a.until), a.reason.slice(0, 60)]));
    });

  cmd
    .command('cancel <id>')
    .description('cancel an adaptation: the site gets its normal limits back')
    .action(async (id) => {
      await client().delete(`/mta/adaptations/${idOf('adaptation', id)}`);
      process.stdout.write(`adaptation ${id} cancelled\n`);
    });

  for (const action of ['suspend', 'throttle'] as const) {
    cmd
      .command(`${action} <site>`)
      .description(`${action} a site (its MX host names, as "mta queues" shows) for a while`)
      .requiredOption('--for <duration>', 'how long, e.g. 30m, 2h')
      .option('--source <ip>', 'only this sending IP')
      .option('--factor <f>', 'throttle: share of the rate and connections kept', '0.5')
      .option('--reason <text>', 'why, kept with the adaptation and shown by "mta adaptations"')
      .action(async (site, o) => {
        const r = await client().post<AdaptationCreated>('/mta/adaptations', { site, source: o.source ?? null, action, factor: action === 'throttle' ? Number(o.factor) : undefined, duration: o.for, reason: o.reason });
        process.stdout.write(`adaptation ${r.id}: ${action} ${site} for ${o.for}\n`);
      });
  }

  cmd
    .command('ips')
    .description('sending IP pools and warm-up progress')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const { pools } = await client().get<SendingIps>('/mta/ips');
      if (o.json) return printJson(pools);
      printTable(['pool', 'IP', 'HELO', 'weight', 'warm-up', 'sent today'], pools.flatMap((p) => p.ips.map((ip) => [p.name, ip.address ?? 'system default', ip.helo ?? '', ip.weight, ip.warmup ? `${ip.warmup.plan} day ${ip.warmup.day}: ${ip.warmup.capPerProvider ?? 'warm'}/provider/day` : 'warm', Object.entries(ip.sentToday).map(([k, v]) => `${k}: ${v}`).join(', ')])));
    });

  cmd
    .command('rules')
    .description('the MX rules in force, in matching order')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const r = await client().get<MxRules>('/mta/rules');
      if (o.json) return printJson(r);
      printTable(['rule', 'MX hosts', 'conns/path', 'msgs/conn', 'per hour', 'per minute', 'TLS', 'shared'], r.rules.map((x) => [x.name, x.mx.join(' '), x.maxConnections, x.maxMessagesPerConnection, x.messagesPerHour ?? '', x.messagesPerMinute ?? '', x.tls, x.shared ? 'yes' : 'per IP']));
      process.stdout.write(`from: ${r.files.join(', ')}\n`);
    });
  cmd
    .command('drain')
    .description("take the MTA of the process behind --api out of service: it stops claiming, hands back what it has not started, finishes its open SMTP transactions within the timeout and leaves; the other MTA nodes take over (SIGTERM does the same)")
    .option('--timeout <duration>', 'how long open transactions may take to finish (default: mta.drainTimeout, 30s)')
    .option('--json', JSON_HELP)
    .action(async (o) => {
      const r = await client().post<DrainReport>('/mta/drain', o.timeout ? { timeout: o.timeout } : {});
      if (o.json) return printJson(r);
      process.stdout.write(`drained in ${(r.ms / 1000).toFixed(1)} s: ${num(r.finished)} finished, ${num(r.handedBack)} handed back to the other nodes${r.unfinished ? `, ${num(r.unfinished)} still in a transaction at the timeout (taken over when their lease runs out)` : ''}; ${r.mtaProcesses} MTA process${r.mtaProcesses === 1 ? '' : 'es'} left\n`);
    });
  return cmd;
}
