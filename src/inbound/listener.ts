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

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

export async function startListener(o: ListenerOptions): Promise<Listener> {
  // Open sessions per client IP, and the deadline of each session (by session id).
  const perIp = new Map<string, number>();
  const sessions = new Map<string, { ip: string; deadline: NodeJS.Timeout }>();
  const endSession = (id: string) => {
    for (const c of server.connections) if (c.id === id) c.send(421, `4.4.2 session longer than ${Math.round(o.sessionTimeoutMs / 1000)} s, closing`, false);
  };
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
      const ip = session.remoteAddress;
      const open = perIp.get(ip) ?? 0;
      if (open >= o.maxConnectionsPerIp) return cb(smtpError(421, `4.7.0 too many connections from ${ip} (at most ${o.maxConnectionsPerIp}), try again later`));
      perIp.set(ip, open + 1);
      const deadline = setTimeout(() => endSession(session.id), o.sessionTimeoutMs);
      deadline.unref();
      sessions.set(session.id, { ip, deadline });
      cb();
    },
    onClose(session) {
      // Called for every connection that closes, counted or not (refused ones never were).
      const s = sessions.get(session.id);
      if (!s) return;
      sessions.delete(session.id);
      clearTimeout(s.deadline);
      const left = (perIp.get(s.ip) ?? 1) - 1;
      if (left > 0) perIp.set(s.ip, left);
      else perIp.delete(s.ip);
    },
    onRcptTo(address: SMTPServerAddress, session, cb) {
      // smtp-server's own maxRecipients answers without the enhanced code (4.5.3) RFC 5321 clients look for.
      if (session.envelope.rcptTo.length >= o.maxRecipients) return cb(smtpError(452, `4.5.3 too many recipients (at most ${o.maxRecipients} per message), send the rest in another message`));
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
