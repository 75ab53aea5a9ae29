/**
 * One simulated MX host: an smtp-server on its own loopback IP that answers like the
 * provider it belongs to: connection limits per sending IP, rate limits, greylisting,
 * random deferrals and drops, per-recipient fates with the provider's reply texts, slow
 * answers, and STARTTLS offered or not. Accepted messages are counted and, by fate,
 * handed to the async feedback (DSN, ARF, auto-reply) and, when on, to the simulated
 * recipients' opens and clicks (engagement.ts).
 *
 * It does not parse message bodies (see `capture.ts`) and does not decide fates (`fate.ts`).
 * ENHANCEDSTATUSCODES is not advertised so that smtp-server does not prefix its own codes:
 * the enhanced code of every reply comes from the profile text.
 */
import { randomBytes } from 'node:crypto';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import { buildArf } from './arf.ts';
import type { AsyncFeedback, AsyncKind } from './async-feedback.ts';
import { buildAutoReply } from './auto-reply.ts';
import { captureMessage, headerValue } from './capture.ts';
import type { DeliveryCounters, RefusalReason } from './counters.ts';
import { buildDsn } from './dsn.ts';
import type { Engagement } from './engagement.ts';
import { happens, recipientFate, type Fate } from './fate.ts';
import type { ConnectionLimiter, Greylist, RateLimiter } from './limits.ts';
import type { MxHost, ProviderReplies } from './profiles.ts';
import { domainOf, type AcceptedCopy } from './report-parts.ts';

/** A message the simulator accepted, kept only with `keepMessages`. */
export interface ReceivedMessage {
  queueId: string;
  provider: string;
  mxHost: string;
  sendingIp: string;
  heloName: string;
  tls: boolean;
  mailFrom: string;
  recipients: string[];
  messageId: string | null;
  subject: string | null;
  headers: string;
  raw: Buffer | null;
  size: number;
  receivedAt: Date;
}

export interface MxServerContext {
  counters: DeliveryCounters;
  connections: ConnectionLimiter;
  rates: RateLimiter;
  greylist: Greylist;
  feedback: AsyncFeedback;
  /** Simulated opens and clicks of accepted mail; null when off. */
  engagement: Engagement | null;
  keepMessages: boolean;
  onMessage(message: ReceivedMessage): void;
  logger: Logger;
}

interface SessionState {
  ip: string;
  counted: boolean;
  mailFrom: string;
  accepted: { address: string; fate: Fate }[];
}

type ReplyError = Error & { responseCode: number };
const ASYNC_KINDS: Partial<Record<Fate['outcome'], AsyncKind>> = { bounceLater: 'dsn', complain: 'arf', autoreply: 'autoreply' };
const wait = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

export async function startMxServer(host: MxHost, port: number, ctx: MxServerContext): Promise<SMTPServer> {
  const provider = host.provider;
  const replies = provider.replies;
  const domains = new Set(provider.domains);
  const sessions = new WeakMap<SMTPServerSession, SessionState>();
  const state = (s: SMTPServerSession) => {
    let st = sessions.get(s);
    if (!st) sessions.set(s, (st = { ip: s.remoteAddress.replace(/^::ffff:/, ''), counted: false, mailFrom: '', accepted: [] }));
    return st;
  };
  const vars = (st: SessionState, rcpt = '') => ({ ip: st.ip, rcpt, domain: domainOf(rcpt), mx: host.name, id: queueId() });
  const refuse = (st: SessionState, rcpt: string, reason: RefusalReason, key: Exclude<keyof ProviderReplies, 'accepted'>): ReplyError => {
    const err = replyError(replies[key], vars(st, rcpt));
    ctx.counters.refused(provider.name, rcpt, reason, err.responseCode < 500);
    return err;
  };

  const server: SMTPServer = new SMTPServer({
    name: host.name,
    banner: provider.banner,
    logger: false,
    disableReverseLookup: true,
    disabledCommands: provider.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    authOptional: true,
    hideENHANCEDSTATUSCODES: true,
    maxAllowedUnauthenticatedCommands: false,
    socketTimeout: 60_000,
    closeTimeout: 1000,

    onConnect(session, cb) {
      const st = state(session);
      if (!ctx.connections.open(st.ip, provider.name, host.name, provider.maxConnectionsPerIp)) {
        return cb(replyError(replies.tooManyConnections, vars(st)));
      }
      st.counted = true;
      wait(provider.delaysMs.connect).then(() => cb());
    },

    onClose(session) {
      const st = sessions.get(session);
      if (st?.counted) ctx.connections.close(st.ip, provider.name, host.name);
    },

    onMailFrom(address, session, cb) {
      const st = state(session);
      st.mailFrom = address.address.toLowerCase();
      st.accepted = [];
      cb();
    },

    onRcptTo(address, session, cb) {
      const st = state(session);
      const rcpt = address.address.toLowerCase();
      if (!domains.has(domainOf(rcpt))) return cb(refuse(st, rcpt, 'relayDenied', 'relayDenied'));
      const fate = recipientFate(rcpt, provider);
      wait(provider.delaysMs.rcpt + (fate.slow ? provider.slowMs : 0)).then(() => {
        const attempt = ctx.counters.attempts(rcpt);
        if (fate.outcome === 'drop' || (fate.chance && happens(provider.dropPercent, `drop:${rcpt}:${attempt}`))) {
          ctx.counters.refused(provider.name, rcpt, 'dropped', true);
          // A dropped connection gets no answer at all: the socket just goes away.
          for (const c of server.connections) if (c.session === session) c._socket.destroy();
          return;
        }
        const rate = provider.rateLimit;
        if (rate && !ctx.rates.take(`${st.ip}|${provider.name}`, rate.perSecond, rate.burst)) return cb(refuse(st, rcpt, 'rateLimited', 'rateLimited'));
        if (fate.grey && ctx.greylist.refuses(st.ip, st.mailFrom, rcpt, provider.greylist.seconds)) return cb(refuse(st, rcpt, 'greylisted', 'greylisted'));
        if (fate.outcome === 'defer' || (fate.chance && happens(provider.deferPercent, `defer:${rcpt}:${attempt}`))) return cb(refuse(st, rcpt, 'deferred', 'deferred'));
        switch (fate.outcome) {
          case 'unknown':
          case 'full':
          case 'overquota':
          case 'disabled':
            return cb(refuse(st, rcpt, fate.outcome, fate.outcome));
        }
        st.accepted.push({ address: rcpt, fate });
        cb();
      });
    },

    onData(stream, session, cb) {
      const st = state(session);
      const accepted = st.accepted;
      st.accepted = [];
      const needBody = ctx.keepMessages || ctx.engagement !== null || accepted.some((a) => a.fate.outcome === 'complain');
      captureMessage(stream, needBody)
        .then(async (msg) => {
          await wait(provider.delaysMs.data + (accepted.some((a) => a.fate.slow) ? provider.slowMs : 0));
          // Content filters judge the whole message: one spam-fated recipient rejects it.
          if (accepted.some((a) => a.fate.outcome === 'spam')) {
            const err = replyError(replies.spam, vars(st, accepted[0].address));
            for (const a of accepted) ctx.counters.refused(provider.name, a.address, 'spam', err.responseCode < 500);
            return cb(err);
          }
          const id = queueId();
          ctx.counters.received(provider.name, accepted.map((a) => a.address));
          const needHeaders = ctx.keepMessages || accepted.some((a) => ASYNC_KINDS[a.fate.outcome]);
          const messageId = needHeaders ? headerValue(msg.headers, 'message-id') : null;
          const subject = needHeaders ? headerValue(msg.headers, 'subject') : null;
          for (const a of accepted) {
            const kind = ASYNC_KINDS[a.fate.outcome];
            if (!kind || !st.mailFrom) continue;
            const copy: AcceptedCopy & { mxIp: string } = {
              queueId: id, provider: provider.name, providerDomain: provider.domains[0], mxHost: host.name, mxIp: host.ip,
              sendingIp: st.ip, heloName: session.hostNameAppearsAs || st.ip, returnPath: st.mailFrom, recipient: a.address,
              receivedAt: new Date(), headers: msg.headers, raw: msg.raw, messageId, subject, fromHeader: headerValue(msg.headers, 'from'),
            };
            const build =
              kind === 'dsn'
                ? () => buildDsn({ copy, reply: oneLine(replies.unknown, vars(st, a.address)), style: provider.dsnStyle })
                : kind === 'arf'
                  ? () => buildArf(copy)
                  : () => buildAutoReply(copy, provider.dsnStyle);
            ctx.feedback.schedule(kind, copy, build);
          }
          // A mailbox that will bounce the message later never shows it to anyone.
          const readers = accepted.filter((a) => a.fate.outcome !== 'bounceLater').map((a) => a.address);
          if (ctx.engagement && readers.length) ctx.engagement.accepted(provider.engagement, readers, msg.raw);
          if (ctx.keepMessages) {
            ctx.onMessage({
              queueId: id, provider: provider.name, mxHost: host.name, sendingIp: st.ip, heloName: session.hostNameAppearsAs,
              tls: session.secure, mailFrom: st.mailFrom, recipients: accepted.map((a) => a.address), messageId, subject,
              headers: msg.headers, raw: msg.raw, size: msg.size, receivedAt: new Date(),
            });
          }
          cb(null, render(replies.accepted, { ...vars(st), id }).slice(4));
        })
        .catch((err: Error) => {
          ctx.logger.debug({ err: err.message, mx: host.name }, 'sim message not received in full');
          cb(err);
        });
    },
  });
  server.on('error', (err) => ctx.logger.debug({ err: err.message, mx: host.name }, 'sim smtp error'));

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, host.ip, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** Fills {ip} {rcpt} {domain} {mx} {id} in a reply template. */
function render(template: string, v: Record<string, string>): string {
  return template.replace(/\{(ip|rcpt|domain|mx|id)\}/g, (_, k: string) => v[k]);
}

/**
 * An error smtp-server turns into the reply: the code from the template, the rest as text.
 * For a multi-line reply the message is the list of lines: smtp-server writes an array as
 * "code-line" continuation lines and a final "code line".
 */
function replyError(lines: string[], v: Record<string, string>): ReplyError {
  const texts = lines.map((l) => render(l.slice(4), v));
  const err = new Error(texts.join(' ')) as ReplyError;
  if (texts.length > 1) (err as { message: unknown }).message = texts;
  err.responseCode = Number(lines[0].slice(0, 3));
  return err;
}

/** A reply as one line, as Postfix puts a multi-line reply in a DSN: "550-5.1.1 a 550 5.1.1 b". */
function oneLine(lines: string[], v: Record<string, string>): string {
  return lines.map((l) => render(l, v)).join(' ');
}

// Queue ids like Postfix's: short, upper-case hex, unique per process. A counter, not
// random bytes, because one is made for every reply.
const ID_PREFIX = randomBytes(2).toString('hex').toUpperCase();
let idSeq = 0;
function queueId(): string {
  return ID_PREFIX + (++idSeq).toString(16).toUpperCase().padStart(8, '0');
}
