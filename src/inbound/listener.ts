/**
 * The bounce listener ("inMail"): an SMTP server for the return-path domain. It accepts
 * only the addresses recipients.ts allows, refuses mail over the size limit, and writes each
 * message to the inbound_mails table before answering 250, so an accepted bounce survives a
 * crash. Parsing and qualification happen afterwards, in processor.ts.
 *
 * It faces the internet, so every count and time is capped: recipients per message (452
 * 4.5.3 past it), connections per client IP and in all (421, then closed), idle time and
 * session length (421, then closed).
 */
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import type { Db } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import { readInboundAddress } from './accepted-addresses.ts';
import type { Emitter } from '../lib/signals.ts';
import { sessionCaps, smtpError, tooManyRecipients } from '../mail/smtp-session-limits.ts';

export interface ListenerOptions {
  db: Db;
  logger: Logger;
  secret: string;
  bounceDomain: string;
  host: string;
  port: number;
  maxSizeBytes: number;
  maxRecipients: number;
  maxConnectionsPerIp: number;
  maxConnections: number;
  idleTimeoutMs: number;
  sessionTimeoutMs: number;
  heloName: string;
  /** Told when a mail is stored for the inbound processor. */
  signals?: Emitter<InboundSignals>;
}

/** The signals the bounce listener emits. */
export interface InboundSignals {
  'inbound:stored': { mails: number };
}

export interface Listener {
  host: string;
  port: number;
  /** Connections open right now. */
  openConnections(): number;
  stop(): Promise<void>;
}

export async function startListener(o: ListenerOptions): Promise<Listener> {
  const caps = sessionCaps({
    maxConnectionsPerIp: o.maxConnectionsPerIp,
    sessionTimeoutMs: o.sessionTimeoutMs,
    endSession: (id, text) => {
      for (const c of server.connections) if (c.id === id) c.send(421, text, false);
    },
  });
  const server: SMTPServer = new SMTPServer({
    name: o.heloName,
    banner: 'Estafeta bounce listener',
    authOptional: true,
    disabledCommands: ['AUTH'],
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
    onRcptTo(address: SMTPServerAddress, session, cb) {
      const tooMany = tooManyRecipients(session, o.maxRecipients);
      if (tooMany) return cb(tooMany);
      if (readInboundAddress(o.secret, o.bounceDomain, address.address)) return cb();
      cb(smtpError(550, `5.1.1 <${address.address}>: no such mailbox here; this server only receives bounces`));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => cb(err));
      stream.on('end', () => {
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) {
          return cb(smtpError(552, `5.3.4 message larger than ${o.maxSizeBytes} bytes`));
        }
        const raw = Buffer.concat(chunks);
        o.db.kysely
          .insertInto('inbound_mails')
          .values({
            received_at: Date.now(),
            mail_from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            rcpt_to: session.envelope.rcptTo.map((r) => r.address).join(','),
            remote_ip: session.remoteAddress,
            size: raw.length,
            raw,
            status: 'received',
          })
          .execute()
          .then(() => {
            cb(null);
            o.signals?.emit('inbound:stored', { mails: 1 });
          })
          .catch((err) => {
            o.logger.error({ err }, 'could not store an inbound mail; answering 451');
            cb(smtpError(451, '4.3.0 temporary storage failure, try again later'));
          });
      });
    },
  });
  server.on('error', (err) => o.logger.error({ err }, 'bounce listener error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  o.logger.info({ host: o.host, port }, 'bounce listener started');
  return { host: o.host, port, openConnections: () => server.connections.size, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
