/**
 * A small promise-based SMTP client for tests that talk to the simulator (or any SMTP
 * peer) from a chosen local address, built on nodemailer's SMTPConnection. Answers are
 * values (`{ ok, code, response }`), not exceptions, so tests can assert on refusals.
 *
 * For tests only: no pooling, no retries, no DKIM. The MTA has its own client.
 */
import SMTPConnection from 'nodemailer/lib/smtp-connection';

export interface SmtpAnswer {
  ok: boolean;
  /** Reply code (250, 421, 550...), 0 when the connection broke without an answer. */
  code: number;
  /** The server's reply line(s), or the client's error message when there was none. */
  response: string;
}

export interface TestSmtpOptions {
  host: string;
  port: number;
  /** Local address to send from, e.g. 127.0.0.2 (a sending IP of the MTA). */
  localAddress?: string;
  /** EHLO name. */
  name?: string;
  /** Do not use STARTTLS even when offered. */
  ignoreTLS?: boolean;
}

type SmtpError = Error & { responseCode?: number; response?: string; code?: string };

export class TestSmtpClient {
  private constructor(
    private readonly conn: SMTPConnection,
    private broken = false,
  ) {}

  /** Opens a session; resolves with the answer when the server refuses it at the greeting. */
  static async connect(options: TestSmtpOptions): Promise<TestSmtpClient | SmtpAnswer> {
    const conn = new SMTPConnection({
      host: options.host,
      port: options.port,
      localAddress: options.localAddress,
      name: options.name ?? 'sender.test',
      ignoreTLS: options.ignoreTLS,
      tls: { rejectUnauthorized: false },
      connectionTimeout: 5000,
      greetingTimeout: 5000,
      socketTimeout: 20_000,
    });
    const client = new TestSmtpClient(conn);
    conn.on('error', () => {
      client.broken = true;
    });
    conn.on('end', () => {
      client.broken = true;
    });
    try {
      await new Promise<void>((resolve, reject) => {
        conn.once('error', reject);
        conn.connect(() => {
          conn.off('error', reject);
          resolve();
        });
      });
      return client;
    } catch (err) {
      conn.close();
      return answerOf(err as SmtpError);
    }
  }

  /** True once STARTTLS has upgraded the session. */
  get secure(): boolean {
    return this.conn.secure;
  }

  /** The capabilities the server announced in its EHLO reply. */
  get extensions(): string[] {
    return (this.conn as unknown as { _supportedExtensions: string[] })._supportedExtensions ?? [];
  }

  get closed(): boolean {
    return this.broken;
  }

  /** One mail transaction; after a refusal the session is reset (RSET) for the next one. */
  async send(from: string, to: string[], raw: string | Buffer): Promise<SmtpAnswer> {
    try {
      const info = await new Promise<{ response: string; rejected: string[] }>((resolve, reject) =>
        this.conn.send({ from, to }, raw, (err, result) => (err ? reject(err) : resolve(result as never))),
      );
      return { ok: true, code: Number(info.response.slice(0, 3)), response: info.response };
    } catch (err) {
      const answer = answerOf(err as SmtpError);
      if (!this.broken && answer.code !== 421) {
        await new Promise<void>((resolve) => this.conn.reset(() => resolve()));
      }
      return answer;
    }
  }

  quit(): void {
    if (this.broken) this.conn.close();
    else this.conn.quit();
  }
}

function answerOf(err: SmtpError): SmtpAnswer {
  // nodemailer prefixes its own words ("Can't send mail - all recipients were rejected: ");
  // the server's reply is the part starting with the code.
  const reply = /\b([2-5]\d\d[ -].*)$/s.exec(err.response ?? err.message)?.[1];
  return { ok: false, code: err.responseCode ?? (reply ? Number(reply.slice(0, 3)) : 0), response: reply ?? err.message };
}

/** A minimal message with the given Message-ID and Subject. */
export function testMessage(messageId: string, subject = 'Test message', extraHeaders = ''): string {
  return `From: Sender <sender@estafeta.test>\r\nTo: someone@example.test\r\nSubject: ${subject}\r\nMessage-ID: ${messageId}\r\n${extraHeaders}MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHello from a test.\r\n`;
}
