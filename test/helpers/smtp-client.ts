/**
 * A real SMTP client for tests (nodemailer's SMTPConnection): connect, send one message to
 * a listener, and report the server's answers as values (never throws). Used to play a
 * remote MTA or an attacker against the bounce listener.
 */
import NodemailerConnection from 'nodemailer/lib/smtp-connection';

export type SmtpError = Error & { response?: string; responseCode?: number };

export interface Conn {
  connect(cb: (e?: SmtpError) => void): void;
  send(env: object, msg: string, cb: (e: SmtpError | null, info?: { response: string; accepted: string[]; rejected: string[]; rejectedErrors?: SmtpError[] }) => void): void;
  quit(): void;
  close(): void;
  on(e: string, f: (...a: unknown[]) => void): void;
}
const SMTPConnection = NodemailerConnection as unknown as new (o: object) => Conn;

export interface SendResult {
  ok: boolean;
  response: string;
  accepted: string[];
  rejected: { address: string; response: string }[];
}

/** Opens a session (up to the greeting and EHLO); resolves with the connection or the error reply. */
export function smtpConnect(host: string, port: number, localAddress?: string): Promise<{ conn: Conn; error: null } | { conn: null; error: string }> {
  const conn = new SMTPConnection({ host, port, ignoreTLS: true, name: 'mx.remote.test', localAddress, connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 30_000 });
  return new Promise((resolve) => {
    let done = false;
    conn.on('error', (err) => {
      if (!done) {
        done = true;
        resolve({ conn: null, error: (err as SmtpError).response ?? (err as Error).message });
      }
    });
    conn.connect((err) => {
      if (done) return;
      done = true;
      resolve(err ? { conn: null, error: err.response ?? err.message } : { conn, error: null });
    });
  });
}

/** Sends one message in a session of its own. */
export async function smtpSend(host: string, port: number, envelope: { from: string; to: string[] }, raw: string, localAddress?: string): Promise<SendResult> {
  const c = await smtpConnect(host, port, localAddress);
  if (!c.conn) return { ok: false, response: c.error, accepted: [], rejected: [] };
  const conn = c.conn;
  return new Promise((resolve) => {
    conn.send(envelope, raw, (err, info) => {
      conn.quit();
      const rejected = (err as { rejectedErrors?: SmtpError[] } | null)?.rejectedErrors ?? info?.rejectedErrors ?? [];
      resolve({
        ok: !err,
        response: err ? (err.response ?? err.message) : String(info?.response),
        accepted: info?.accepted ?? [],
        rejected: rejected.map((e) => ({ address: String((e as { recipient?: string }).recipient ?? ''), response: e.response ?? e.message })),
      });
    });
  });
}
