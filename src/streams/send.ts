/**
 * The send API's engine: messages to streams become, in one transaction (a call's messages
 * all in the same one, with those of calls that arrived meanwhile), their
 * target rows (metadata and tags), their delivery logs ("Taken into account", or Failed for
 * a recipient the stream's quarantine refuses) and their spool entries, composed per
 * recipient and DKIM-signed before the transaction (their log ids are reserved first, since
 * the bytes carry them). The caller is answered after the commit, so an accepted message
 * survives a crash. In a batch each message is checked on its own: a bad one is answered
 * with its error and the others go. Everything after the spool is the MTA's, which does not
 * know a stream from a delivery.
 */
import type { Db, Q } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { Emitter } from '../lib/signals.ts';
import { EstafetaError } from '../lib/errors.ts';
import { admitToStream, DeliveryState, getStreamRow, insertStreamLogs, insertStreamTargets, reserveLogIds, streamOptionsOf, type DeliveryRow, type StreamLog } from '../deliveries/index.ts';
import { EXCLUDING_STATUSES, QuarantineStatus } from '../quarantine/status.ts';
import type { InjectMessage } from '../mta/index.ts';
import type { MessageSigner, SenderSignals } from '../sender/index.ts';
import { checkMessage, type CheckedMessage, type MessageInput } from './message-input.ts';
import { composeStreamMessage, type StreamComposeSettings } from './compose.ts';
import { recordAnswer } from './idempotency.ts';

export interface RecipientResult {
  address: string;
  logId: number;
  messageId: string | null;
  status: 'accepted' | 'refused';
  reason?: string;
}

export type MessageResult =
  | { ok: true; stream: number; messageIds: string[]; logIds: number[]; recipients: RecipientResult[] }
  | { ok: false; error: { code: string; message: string } };

export interface StreamSenderOptions {
  db: Db;
  logger: Logger;
  signer: MessageSigner;
  enqueue(q: Q, messages: InjectMessage[]): Promise<void>;
  signals?: Emitter<Pick<SenderSignals, 'spool:changed'>>;
  compose: StreamComposeSettings;
}

/** Written with the messages, in their transaction (the idempotency key's answer). */
export type AnswerHook = (results: MessageResult[]) => { principal: string; key: string; status: number; response: unknown; requestHash?: string } | null;

interface Admitted {
  index: number;
  stream: DeliveryRow;
  message: CheckedMessage;
  logs: StreamLog[];
  spool: InjectMessage[];
}

const REFUSED_REASON = { [QuarantineStatus.Denylisted]: 'Denylisted address', [QuarantineStatus.Quarantine]: 'Address in quarantine' } as const;

interface Job {
  admitted: Admitted[];
  results: MessageResult[];
  answer?: AnswerHook;
  done(err: Error | null): void;
}

export class StreamSender {
  private queue: Job[] = [];
  private flushing: Promise<void> | null = null;

  constructor(private readonly o: StreamSenderOptions) {}

  async send(inputs: MessageInput[], answer?: AnswerHook): Promise<MessageResult[]> {
    const { db } = this.o;
    const results: MessageResult[] = new Array(inputs.length);
    const fail = (i: number, code: string, message: string) => (results[i] = { ok: false, error: { code, message } });
    const streams = new Map<string, DeliveryRow | EstafetaError>();
    const checked: { index: number; stream: DeliveryRow; message: CheckedMessage }[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const c = checkMessage(inputs[i]);
      if (!c.ok) {
        fail(i, 'INVALID_INPUT', c.problem);
        continue;
      }
      const ref = String(inputs[i].stream);
      if (!streams.has(ref)) streams.set(ref, await getStreamRow(db.kysely, ref).catch((err: EstafetaError) => err));
      const stream = streams.get(ref)!;
      if (stream instanceof EstafetaError) {
        fail(i, stream.code, stream.message);
        continue;
      }
      const options = streamOptionsOf(stream);
      if (!options.fromDomains.includes(c.message.from.domain)) {
        fail(i, 'FORBIDDEN', `from: the stream "${stream.label}" does not send from ${c.message.from.domain} (its domains: ${options.fromDomains.join(', ')})`);
        continue;
      }
      if (stream.state !== DeliveryState.InProgress) {
        fail(i, 'ILLEGAL_STATE', `the stream "${stream.label}" is paused: resume it to send`);
        continue;
      }
      checked.push({ index: i, stream, message: c.message });
    }

    const refused = await this.quarantined(checked.filter((c) => streamOptionsOf(c.stream).applyQuarantine).flatMap((c) => c.message.recipients.map((r) => r.address.toLowerCase())));
    const ids = await reserveLogIds(db, checked.reduce((n, c) => n + c.message.recipients.length, 0));
    const now = Date.now();
    const admitted: Admitted[] = [];
    let next = 0;
    for (const c of checked) {
      const options = streamOptionsOf(c.stream);
      const a: Admitted = { ...c, logs: [], spool: [] };
      const streamId = Number(c.stream.id);
      for (const r of c.message.recipients) {
        const logId = ids[next++];
        const status = options.applyQuarantine ? refused.get(r.address.toLowerCase()) : undefined;
        const reason = status === undefined ? null : REFUSED_REASON[status as keyof typeof REFUSED_REASON];
        const log: StreamLog = { id: logId, rowNo: 0, address: r.address, domain: r.domain, refused: reason, messageId: null };
        a.logs.push(log);
        if (reason) continue;
        try {
          const m = composeStreamMessage(this.o.compose, { streamId, tracking: Number(c.stream.tracking) === 1, listUnsubscribe: options.listUnsubscribe }, c.message, logId, r.address, now);
          log.messageId = m.messageId;
          a.spool.push({ logId, deliveryId: streamId, mailFrom: m.mailFrom, rcptTo: m.rcptTo, messageId: m.messageId, body: m.body, expiresAt: now + Number(c.stream.validity_ms), pool: c.stream.ip_pool });
        } catch (err) {
          // The message cannot be built at all (the same for every recipient): it fails alone.
          fail(c.index, 'INVALID_INPUT', `the message could not be built: ${(err as Error).message}`);
          break;
        }
      }
      if (!results[c.index]) admitted.push(a);
    }
    // Signing per sender domain (the key is the domain's), in the signing threads.
    const byDomain = groupBy(admitted, (a) => a.message.from.domain);
    for (const [domain, group] of byDomain) {
      const signed = await this.o.signer.sign(group.flatMap((a) => a.spool), domain);
      let k = 0;
      for (const a of group) a.spool = a.spool.map(() => signed[k++]);
    }

    await this.commit({ admitted, results, answer });
    return results;
  }

  /**
   * Writes a call's messages. Calls that arrive while a transaction commits wait and share
   * the next one: each call's messages would otherwise wait for the previous call's commit
   * anyway (the stream's row and counters are updated in every transaction, SQLite has one
   * writer), so single calls go at the rate of commits times the calls per commit.
   */
  private commit(job: Omit<Job, 'done'>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ...job, done: (err) => (err ? reject(err) : resolve()) });
      if (!this.flushing) this.flushing = this.flush().finally(() => (this.flushing = null));
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length) {
      const jobs = this.queue.splice(0, this.queue.length);
      const woken = new Set<number>();
      const now = Date.now();
      try {
        await this.o.db.tx(async (trx) => {
          const byStream = groupBy(jobs.flatMap((job) => job.admitted.map((a) => ({ a, results: job.results }))), (x) => Number(x.a.stream.id));
          for (const [streamId, group] of byStream) {
            const logs = group.flatMap((x) => x.a.logs);
            const excluded = logs.filter((l) => l.refused).length;
            let row: number;
            try {
              row = await admitToStream(trx, streamId, { targeted: logs.length, toDeliver: logs.length - excluded, excluded });
            } catch (err) {
              // Paused since it was read: nothing of it was written, the others go on.
              if (!(err instanceof EstafetaError)) throw err;
              for (const x of group) x.results[x.a.index] = { ok: false, error: { code: err.code, message: err.message } };
              continue;
            }
            for (const l of logs) l.rowNo = row++;
            const targets = group.flatMap(({ a }) => a.logs.map((l) => ({ streamId, rowNo: l.rowNo, email: l.address, data: { tags: a.message.input.tags ?? [], metadata: a.message.input.metadata ?? {} } })));
            await insertStreamTargets(trx, targets);
            await insertStreamLogs(trx, streamId, logs, now);
            const spool = group.flatMap((x) => x.a.spool);
            await this.o.enqueue(trx, spool);
            if (spool.length) woken.add(streamId);
            for (const x of group) x.results[x.a.index] = resultOf(x.a);
          }
          for (const job of jobs) {
            const hook = job.answer?.(job.results);
            if (hook) await recordAnswer(trx, hook.principal, hook.key, hook.status, hook.response, hook.requestHash ?? null);
          }
        });
      } catch (err) {
        for (const job of jobs) job.done(err as Error);
        continue;
      }
      for (const id of woken) this.o.signals?.emit('spool:changed', { deliveryId: id, change: 'filled' });
      for (const job of jobs) job.done(null);
    }
  }

  /** Quarantine statuses that refuse, by lower-case address. */
  private async quarantined(addresses: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const unique = [...new Set(addresses)];
    for (let i = 0; i < unique.length; i += 2000) {
      const rows = await this.o.db.kysely.selectFrom('quarantine').select(['address', 'status']).where('address', 'in', unique.slice(i, i + 2000)).where('status', 'in', EXCLUDING_STATUSES as number[]).execute();
      for (const r of rows) out.set(r.address, r.status);
    }
    return out;
  }
}

function resultOf(a: Admitted): MessageResult {
  const messageIds = new Map(a.spool.map((m) => [m.logId!, m.messageId!]));
  const recipients: RecipientResult[] = a.logs.map((l) =>
    l.refused ? { address: l.address, logId: l.id, messageId: null, status: 'refused', reason: `${l.refused}: the stream applies the quarantine and the denylist` } : { address: l.address, logId: l.id, messageId: messageIds.get(l.id) ?? null, status: 'accepted' },
  );
  return { ok: true, stream: Number(a.stream.id), messageIds: [...messageIds.values()], logIds: a.logs.map((l) => l.id), recipients };
}

function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = out.get(k);
    if (group) group.push(item);
    else out.set(k, [item]);
  }
  return out;
}
