/**
 * One outbound SMTP session to one MX IP, on nodemailer's SMTPConnection (state machine,
 * pipelining, STARTTLS, dot-stuffing). Everything the server answers, and every network
 * failure, comes back as an SmtpReply value; nothing here throws on a refusal or a timeout.
 * Deciding what a reply means is qualification/'s job; choosing hosts and limits is the engine's.
 */
import NodemailerConnection from 'nodemailer/lib/smtp-connection';
import type { SmtpReply } from '../mail/smtp-reply.ts';
import { parseSmtpReply } from '../mail/smtp-reply.ts';
import { installFastDotStuffing } from './dot-stuffing.ts';

installFastDotStuffing();

// The narrow view of SMTPConnection this module relies on.
const SMTPConnection = NodemailerConnection as unknown as new (options: object) => RawConnection;

interface RawConnection {
  connect(cb: (err?: Error) => void): void;
  send(envelope: { from: string; to: string[]; size?: number }, message: Buffer, cb: (err: SmtpError | null, info?: { response: string }) => void): void;
  reset(cb: (err?: Error) => void): void;
  quit(): void;
  close(): void;
  on(event: string, fn: (...args: unknown[]) => void): void;
  once(event: string, fn: (...args: unknown[]) => void): void;
  secure: boolean;
  destroyed?: boolean;
  _destroyed?: boolean;
}

interface SmtpError extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
}

export type TlsPolicy = 'opportunistic' | 'required' | 'disabled';

export interface SessionOptions {
  /** IP address of the MX host. */
  host: string;
  port: number;
  /** MX host name, for SNI and certificate checks. */
  servername: string;
  heloName: string;
  localAddress?: string;
  tls: TlsPolicy;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  dataTimeoutMs: number;
}

export type OpenResult = { ok: true; session: SmtpSession } | { ok: false; reply: SmtpReply };

export interface SendResult {
  reply: SmtpReply;
  /** The command the server answered: RCPT for a refused recipient, DATA after the message. */
  command: 'MAIL' | 'RCPT' | 'DATA';
  /** False when the session cannot carry another message (dropped, 421, timeout). */
  usable: boolean;
}

/** Opens a session: TCP connect, greeting, EHLO, STARTTLS as the policy says. */
export function openSession(options: SessionOptions): Promise<OpenResult> {
  const conn = new SMTPConnection({
    host: options.host,
    port: options.port,
    name: options.heloName,
    localAddress: options.localAddress,
    servername: options.servername,
    secure: false,
    ignoreTLS: options.tls === 'disabled',
    requireTLS: options.tls === 'required',
    opportunisticTLS: options.tls === 'opportunistic',
    tls: { rejectUnauthorized: options.tls === 'required', servername: options.servername },
    connectionTimeout: options.connectTimeoutMs,
    greetingTimeout: options.commandTimeoutMs,
    socketTimeout: Math.max(options.commandTimeoutMs, options.dataTimeoutMs),
    allowInternalNetworkInterfaces: true,
    logger: false,
  });
  return new Promise((resolve) => {
    let settled = false;
    // SMTPConnection reports a failed setup (refused, timed out, TLS refused or failed) as an
    // 'error' event and never calls the connect callback, so both must settle the session.
    const fail = (err: SmtpError) => {
      if (settled) return;
      settled = true;
      conn.close();
      resolve({ ok: false, reply: errorReply(err, options, 'connect') });
    };
    // After setup, errors reach the send callbacks; this listener also keeps the emitter from throwing.
    conn.on('error', (err) => fail(err as SmtpError));
    conn.once('end', () => fail(Object.assign(new Error('the server closed the connection during the session setup'), { code: 'ECONNECTION' })));
    conn.connect((err) => {
      if (err) return fail(err as SmtpError);
      if (settled) return;
      settled = true;
      resolve({ ok: true, session: new SmtpSession(conn, options) });
    });
  });
}

export class SmtpSession {
  private usable = true;
  private needsReset = false;
  readonly tls: boolean;
  constructor(
    private readonly conn: RawConnection,
    private readonly options: SessionOptions,
  ) {
    this.tls = conn.secure;
    conn.on('end', () => (this.usable = false));
    conn.on('error', () => (this.usable = false));
  }

  get isUsable(): boolean {
    return this.usable;
  }

  /** Sends one message to one recipient and returns the server's final answer. */
  async send(from: string, to: string, body: Buffer): Promise<SendResult> {
    if (!this.usable) return { reply: { code: 0, enhanced: '4.4.2', text: 'connection closed before the message was sent' }, command: 'MAIL', usable: false };
    if (this.needsReset) {
      const ok = await new Promise<boolean>((resolve) => this.conn.reset((err) => resolve(!err)));
      if (!ok) {
        this.usable = false;
        return { reply: { code: 0, enhanced: '4.4.2', text: 'the server refused RSET; connection abandoned' }, command: 'MAIL', usable: false };
      }
      this.needsReset = false;
    }
    return new Promise((resolve) => {
      this.conn.send({ from, to: [to], size: body.length }, body, (err, info) => {
        if (!err) return resolve({ reply: parseSmtpReply(info?.response ?? '250 OK', 250), command: 'DATA', usable: this.usable });
        const reply = errorReply(err, this.options, err.command ?? 'DATA');
        // A refusal inside the transaction leaves the session open but needing RSET; a
        // network failure or a 421 ends it.
        const networkFailure = !err.responseCode;
        if (networkFailure || err.responseCode === 421 || err.code === 'ECONNECTION' || err.code === 'ETIMEDOUT') this.usable = false;
        else this.needsReset = true;
        resolve({ reply, command: commandOf(err.command), usable: this.usable });
      });
    });
  }

  /**
   * Ends the session politely (QUIT) and resolves once the socket is closed, so a connection
   * counted against a path's limit is really gone before another one opens.
   */
  close(): Promise<void> {
    this.usable = false;
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.conn.close();
        finish();
      }, 2000);
      this.conn.once('end', finish);
      this.conn.once('close', finish);
      try {
        this.conn.quit();
      } catch {
        this.conn.close();
        finish();
      }
    });
  }
}

/** Turns a library error into the reply a log should show. */
function errorReply(err: SmtpError, options: SessionOptions, phase: string): SmtpReply {
  const where = `${options.servername} [${options.host}]:${options.port}`;
  // The server's refusal of STARTTLS is not a refusal of the message: under a "required"
  // policy it defers it (4.7.10) instead of reading as the 5xx the server gave the command.
  if (options.tls === 'required' && err.command === 'STARTTLS' && err.response) {
    return { code: 0, enhanced: '4.7.10', text: `TLS is required but ${where} does not offer STARTTLS (it answered "${err.response.replace(/\s+/g, ' ')}")` };
  }
  if (err.response) return parseSmtpReply(err.response, err.responseCode || 0);
  const msg = (err.message || String(err)).replace(/\s+/g, ' ');
  if (/certificate|self[- ]signed|TLS|SSL|STARTTLS/i.test(msg)) {
    const text = options.tls === 'required' ? `TLS is required but failed with ${where}: ${msg}` : `the TLS handshake with ${where} failed: ${msg}`;
    return { code: 0, enhanced: '4.7.10', text };
  }
  if (err.code === 'ETIMEDOUT' || /timeout/i.test(msg)) return { code: 0, enhanced: '4.4.1', text: `${phase} timed out with ${where}` };
  return { code: 0, enhanced: '4.4.1', text: `${phase} to ${where} failed: ${msg}` };
}

function commandOf(command: string | undefined): SendResult['command'] {
  if (command?.startsWith('RCPT')) return 'RCPT';
  if (command?.startsWith('MAIL')) return 'MAIL';
  return 'DATA';
}
