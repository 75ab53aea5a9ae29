/**
 * The SMTP submission listener: applications hand Estafeta their mail here (587 in production, 2587 by default),
 * each authenticated with its stream's SMTP credentials, and every message goes through
 * the send API's engine (streams/StreamSender), so it gets the same logs, DKIM, quarantine
 * and MTA as a message sent by API. `250` is answered only once StreamSender.send has
 * committed the message's logs and spool entries: an accepted message survives kill -9.
 *
 * Never an open relay: no MAIL without AUTH (530 5.7.0), and AUTH (PLAIN, LOGIN) only
 * after STARTTLS, except from 127.0.0.1 / ::1 when submission.allowPlainOnLoopback says so.
 * A credential opens one stream; the envelope sender and the From header must be in its
 * domains (553 / 550 5.7.1). Bounded like the bounce listener: size (552 5.3.4), recipients
 * (452 4.5.3), connections per IP and in all, failed AUTHs per session, idle time and session
 * length. Not here: composing and signing (streams/), the credentials' storage (credentials.ts).
 */
import { isIP } from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerAuthentication, type SMTPServerSession } from 'smtp-server';
import type { Db } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import { getStreamRow, streamOptionsOf, type DeliveryRow } from '../deliveries/index.ts';
import { EXCLUDING_STATUSES, QuarantineStatus } from '../quarantine/status.ts';
import { messageSchema, type StreamSender } from '../streams/index.ts';
import { checkSmtpCredential, credentialExists } from './credentials.ts';
import { parseSubmission } from './parse.ts';
// postal-mime's decoders joined without a Blob: a tenth of the parsing cost on Node 20.
import '../mail/postal-mime-decoders.ts';
import { SubmissionBatcher } from './batcher.ts';
import type { SubmissionTls } from './tls.ts';
import { sessionCaps, smtpError, tooManyRecipients } from '../mail/smtp-session-limits.ts';

export interface SubmissionOptions {
  db: Db;
  logger: Logger;
  streams: StreamSender;
  tls: SubmissionTls;
  host: string;
  port: number;
  heloName: string;
  allowPlainOnLoopback: boolean;
  maxSizeBytes: number;
  maxRecipients: number;
  maxConnectionsPerIp: number;
  maxConnections: number;
  idleTimeoutMs: number;
  sessionTimeoutMs: number;
  /** Failed AUTH attempts in one session before it is closed (421). */
  maxAuthFailures?: number;
}

export interface SubmissionListener {
  host: string;
  port: number;
  openConnections(): number;
  stop(): Promise<void>;
}

/** What a successful AUTH leaves on the session. */
interface SubmissionUser {
  credentialId: number;
  streamId: number;
  username: string;
}

const isLoopback = (ip: string) => ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1';
const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

const REFUSED_TEXT: Record<number, string> = { [QuarantineStatus.Denylisted]: 'denylisted', [QuarantineStatus.Quarantine]: 'in quarantine' };

/** The send API's error codes as SMTP replies. */
function replyFor(code: string, message: string): Error {
  switch (code) {
    case 'FORBIDDEN':
      return smtpError(550, `5.7.1 ${message}`);
    case 'ILLEGAL_STATE':
      return smtpError(451, `4.3.2 ${message}`);
    case 'NOT_FOUND':
      return smtpError(554, `5.7.1 ${message}`);
    default:
      return /limit is|characters/.test(message) ? smtpError(552, `5.3.4 ${message}`) : smtpError(554, `5.6.0 ${message}`);
  }
}

export async function startSubmission(o: SubmissionOptions): Promise<SubmissionListener> {
  const maxAuthFailures = o.maxAuthFailures ?? 3;
  const q = o.db.kysely;
  const batcher = new SubmissionBatcher(o.streams);
  const endSession = (id: string, text: string) => {
    for (const c of server.connections) if (c.id === id) c.send(421, text, false);
  };
  const caps = sessionCaps({ maxConnectionsPerIp: o.maxConnectionsPerIp, sessionTimeoutMs: o.sessionTimeoutMs, endSession }, () => ({ authFailures: 0 }));
  const userOf = (session: SMTPServerSession) => session.user as unknown as SubmissionUser | undefined;
  // The stream is read once per message, at MAIL (paused, domains changed since the last
  // message count), and that reading serves the message's RCPTs and DATA: StreamSender.send
  // reads it again for its batch and checks its state in the transaction that admits it.
  const transactionStream = new WeakMap<SMTPServerSession['envelope'], Promise<DeliveryRow>>();
  const streamOf = (session: SMTPServerSession): Promise<DeliveryRow> => {
    let stream = transactionStream.get(session.envelope);
    if (!stream) {
      stream = getStreamRow(q, userOf(session)!.streamId);
      stream.catch(() => transactionStream.delete(session.envelope));
      transactionStream.set(session.envelope, stream);
    }
    return stream;
  };

  const server: SMTPServer = new SMTPServer({
    name: o.heloName,
    banner: 'Estafeta submission: AUTH with your stream\'s SMTP credentials after STARTTLS',
    key: o.tls.key,
    cert: o.tls.cert,
    authMethods: ['PLAIN', 'LOGIN'],
    // Without the loopback exception smtp-server itself refuses AUTH before STARTTLS (538),
    // before any password is sent; with it, onAuth refuses every address but loopback.
    allowInsecureAuth: o.allowPlainOnLoopback,
    authRequiredMessage: '5.7.0 authentication required: AUTH with the stream\'s SMTP credentials (after STARTTLS); this server relays for nobody else',
    disabledCommands: [],
    size: o.maxSizeBytes,
    maxClients: o.maxConnections,
    socketTimeout: o.idleTimeoutMs,
    logger: false,
    onConnect(session, cb) {
      cb(caps.open(session) ?? undefined);
    },
    onClose(session) {
      caps.close(session);
    },
    onAuth(auth: SMTPServerAuthentication, session, cb) {
      if (!session.secure && !(o.allowPlainOnLoopback && isLoopback(session.remoteAddress))) {
        return cb(smtpError(538, '5.7.11 encryption required: issue STARTTLS before AUTH'));
      }
      const s = caps.get(session.id);
      checkSmtpCredential(q, auth.username ?? '', auth.password ?? '').then(
        (found) => {
          if (found) return cb(null, { user: { credentialId: found.id, streamId: found.streamId, username: auth.username } as unknown as string });
          if (s && ++s.authFailures >= maxAuthFailures) setImmediate(() => endSession(session.id, `4.7.0 ${maxAuthFailures} failed authentications, closing`));
          cb(smtpError(535, '5.7.8 authentication credentials invalid'));
        },
        (err) => {
          o.logger.error({ err }, 'submission: checking credentials failed');
          cb(smtpError(454, '4.7.0 temporary authentication failure, try again later'));
        },
      );
    },
    onMailFrom(address: SMTPServerAddress, session, cb) {
      const user = userOf(session);
      if (!user) return cb(smtpError(530, '5.7.0 authentication required: AUTH with the stream\'s SMTP credentials (after STARTTLS)'));
      Promise.all([credentialExists(q, user.credentialId), streamOf(session)]).then(
        ([exists, stream]) => {
          if (!exists) return cb(smtpError(535, '5.7.8 these SMTP credentials were revoked'));
          const domains = streamOptionsOf(stream).fromDomains;
          const domain = domainOf(address.address);
          if (!address.address || !domains.includes(domain)) return cb(smtpError(553, `5.7.1 the stream "${stream.label}" does not send from ${domain || 'an empty sender'} (its domains: ${domains.join(', ')})`));
          cb();
        },
        (err) => cb(smtpError(451, `4.3.0 the stream of these credentials cannot be read: ${(err as Error).message}`)),
      );
    },
    onRcptTo(address: SMTPServerAddress, session, cb) {
      if (!userOf(session)) return cb(smtpError(530, '5.7.0 authentication required'));
      const tooMany = tooManyRecipients(session, o.maxRecipients);
      if (tooMany) return cb(tooMany);
      const rcpt = address.address;
      if (!rcpt.includes('@') || isIP(domainOf(rcpt).replace(/^\[|\]$/g, ''))) return cb(smtpError(553, `5.1.3 <${rcpt}>: give an address at a domain name`));
      // A stream that applies the quarantine refuses the address here, so the application learns it per recipient.
      streamOf(session)
        .then(async (stream) => {
          if (!streamOptionsOf(stream).applyQuarantine) return cb();
          const row = await q.selectFrom('quarantine').select('status').where('address', '=', rcpt.toLowerCase()).where('status', 'in', EXCLUDING_STATUSES as number[]).executeTakeFirst();
          if (row) return cb(smtpError(550, `5.7.1 <${rcpt}>: the address is ${REFUSED_TEXT[row.status] ?? 'refused'} and the stream "${stream.label}" applies the quarantine`));
          cb();
        })
        .catch((err) => cb(smtpError(451, `4.3.0 ${(err as Error).message}`)));
    },
    onData(data, session, cb) {
      const chunks: Buffer[] = [];
      data.on('data', (c: Buffer) => chunks.push(c));
      data.on('error', (err) => cb(err));
      data.on('end', () => {
        if ((data as unknown as { sizeExceeded?: boolean }).sizeExceeded) return cb(smtpError(552, `5.3.4 message larger than ${o.maxSizeBytes} bytes`));
        void submit(Buffer.concat(chunks), session).then(
          (text) => cb(null, text),
          (err: Error & { responseCode?: number }) => {
            if (!err.responseCode) o.logger.error({ err }, 'submission: a message could not be accepted; answering 451');
            cb(err.responseCode ? err : smtpError(451, '4.3.0 temporary failure, try again later'));
          },
        );
      });
    },
  });

  /** Parses, checks and hands the message to the stream; resolves with the 250 text only after the commit. */
  async function submit(raw: Buffer, session: SMTPServerSession): Promise<string> {
    const user = userOf(session)!;
    const stream = await streamOf(session);
    const parsed = await parseSubmission(raw, session.envelope.rcptTo.map((r) => r.address));
    if (!parsed.ok) throw smtpError(parsed.code, parsed.message);
    // X-Estafeta-Stream may only name the credentials' own stream (by id or name).
    if (parsed.stream !== null && parsed.stream !== String(stream.id) && parsed.stream !== stream.label) {
      throw smtpError(550, `5.7.1 X-Estafeta-Stream: these credentials send through the stream "${stream.label}", not "${parsed.stream.slice(0, 100)}"`);
    }
    const checked = messageSchema.safeParse({ ...parsed.input, stream: Number(stream.id) });
    if (!checked.success) throw smtpError(554, `5.6.0 ${checked.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ').slice(0, 400)}`);
    const result = await batcher.send(checked.data);
    if (!result.ok) throw replyFor(result.error.code, result.error.message);
    const accepted = result.recipients.filter((r) => r.status === 'accepted').length;
    o.logger.debug({ stream: result.stream, logs: result.logIds, user: user.username }, 'submission: message accepted');
    return `2.0.0 accepted for ${accepted} of ${result.recipients.length} recipients, logs ${result.logIds.join(',')}; Message-ID ${result.messageIds[0] ?? 'none'}`;
  }

  server.on('error', (err) => o.logger.error({ err }, 'submission listener error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  o.logger.info({ host: o.host, port, selfSigned: o.tls.generated }, 'submission listener started');
  return { host: o.host, port, openConnections: () => server.connections.size, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
