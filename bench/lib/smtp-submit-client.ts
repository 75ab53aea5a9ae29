/**
 * A light SMTP submission client for the benchmarks, run in its own process so that its CPU
 * is not the server's: S sessions each connect, EHLO, STARTTLS (unless told not to), AUTH
 * PLAIN (when a user is given), then send their share of N prepared messages of about the
 * given size, one recipient each, MAIL + RCPT + DATA pipelined (RFC 2920), the next message
 * only after the last one's reply. The same client submits to Estafeta and to Postfix, so the
 * two are fed alike. Not here: checking what the server did with the messages.
 *
 * As a child: `node --import tsx bench/lib/smtp-submit-client.ts '<json options>'`. It prints
 * "ready" once every session is open and authenticated, starts sending on a line on stdin,
 * and prints one JSON line: accepted, refused, the first refusals, and the seconds from the
 * first MAIL to the last reply (session set-up excluded).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface SubmitOptions {
  host: string;
  port: number;
  sessions: number;
  messages: number;
  /** Bytes of each message, about (headers included). */
  size: number;
  from: string;
  /** The recipient of message i: `${prefix}${i}@${domain}`. */
  rcptDomain: string;
  tls: boolean;
  user?: string;
  pass?: string;
}

export interface SubmitResult {
  accepted: number;
  refused: number;
  refusals: string[];
  seconds: number;
}

/** Runs the client in a child process; `go()` starts the timed phase once it is ready. */
export function startSubmitClient(o: SubmitOptions): { pid: number; ready: Promise<void>; go(): Promise<SubmitResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(o)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let onLine: ((line: string) => void) | null = null;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    let nl;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      onLine?.(line);
    }
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`the submission client exited (${code}) before it finished`))));
  exited.catch(() => {});
  const next = () => Promise.race([new Promise<string>((resolve) => (onLine = resolve)), exited]);
  const ready = next().then((line) => {
    if (line !== 'ready') throw new Error(`the submission client said ${line}`);
  });
  return {
    pid: child.pid!,
    ready,
    async go() {
      const result = next();
      child.stdin.end('go\n');
      return JSON.parse(await result) as SubmitResult;
    },
  };
}

/** About `size` bytes of multipart/alternative mail (HTML and text), like an application's receipt. */
function messageOf(o: SubmitOptions, i: number, filler: string): string {
  const to = `r${i}@${o.rcptDomain}`;
  return [
    `From: Receipts <${o.from}>`,
    `To: ${to}`,
    `Subject: Receipt ${i}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <bench-${i}-${process.pid}@client.bench>`,
    `X-Estafeta-Meta-Order: ${i}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="bench-boundary"',
    '',
    '--bench-boundary',
    'Content-Type: text/plain; charset=utf-8',
    '',
    filler.replace(/<[^>]+>/g, ''),
    '--bench-boundary',
    'Content-Type: text/html; charset=utf-8',
    '',
    `<html><body>${filler}</body></html>`,
    '--bench-boundary--',
    '',
  ].join('\r\n');
}

class Session {
  private buf = '';
  private waiters: ((reply: string) => void)[] = [];
  private lines: string[] = [];
  constructor(private socket: Socket | TLSSocket) {
    this.listen();
  }

  private listen(): void {
    this.socket.on('data', (d: Buffer) => this.feed(d.toString('latin1')));
    this.socket.on('error', () => {});
  }

  private feed(text: string): void {
    this.buf += text;
    let nl;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      this.lines.push(line);
      // "250-..." continues a reply, "250 ..." ends it.
      if (line[3] !== '-') {
        const reply = this.lines.join('\n');
        this.lines = [];
        this.waiters.shift()?.(reply);
      }
    }
  }

  reply(): Promise<string> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  write(text: string): void {
    this.socket.write(text);
  }

  async command(text: string, expect: string): Promise<string> {
    const r = this.reply();
    this.write(text + '\r\n');
    const reply = await r;
    if (!reply.startsWith(expect)) throw new Error(`${text.split(' ')[0]}: ${reply}`);
    return reply;
  }

  async startTls(host: string): Promise<void> {
    await this.command('STARTTLS', '220');
    this.socket.removeAllListeners('data');
    this.socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ socket: this.socket as Socket, servername: host === '127.0.0.1' ? undefined : host, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.listen();
  }

  end(): void {
    this.write('QUIT\r\n');
    this.socket.end();
  }
}

async function open(o: SubmitOptions): Promise<Session> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = netConnect(o.port, o.host, () => resolve(s));
    s.once('error', reject);
  });
  socket.setNoDelay(true);
  const session = new Session(socket);
  const banner = await session.reply();
  if (!banner.startsWith('220')) throw new Error(`banner: ${banner}`);
  await session.command('EHLO client.bench', '250');
  if (o.tls) {
    await session.startTls(o.host);
    await session.command('EHLO client.bench', '250');
  }
  if (o.user) await session.command(`AUTH PLAIN ${Buffer.from(`\0${o.user}\0${o.pass ?? ''}`).toString('base64')}`, '235');
  return session;
}

async function main(o: SubmitOptions): Promise<void> {
  const line = '<p>Your receipt, line by line, with the amounts and the totals you asked for.</p>\r\n';
  // The HTML and its text each take about half of the size.
  const filler = line.repeat(Math.max(1, Math.round((o.size - 500) / 2 / (line.length - 5))));
  const bodies = Array.from({ length: o.messages }, (_, i) => messageOf(o, i, filler) + '.\r\n');
  const sessions = await Promise.all(Array.from({ length: o.sessions }, () => open(o)));
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  let next = 0;
  const result: SubmitResult = { accepted: 0, refused: 0, refusals: [], seconds: 0 };
  const t0 = performance.now();
  await Promise.all(
    sessions.map(async (s) => {
      for (let i = next++; i < o.messages; i = next++) {
        const replies = [s.reply(), s.reply(), s.reply()];
        s.write(`MAIL FROM:<${o.from}>\r\nRCPT TO:<r${i}@${o.rcptDomain}>\r\nDATA\r\n`);
        const [mail, rcpt, data] = await Promise.all(replies);
        let final = data;
        if (data.startsWith('354')) {
          const r = s.reply();
          s.write(bodies[i]);
          final = await r;
        } else if (!mail.startsWith('250') || !rcpt.startsWith('250')) final = mail.startsWith('250') ? rcpt : mail;
        if (final.startsWith('250')) result.accepted++;
        else {
          result.refused++;
          if (result.refusals.length < 5) result.refusals.push(final.slice(0, 200));
          if (!data.startsWith('354')) await s.command('RSET', '250').catch(() => {});
        }
      }
    }),
  );
  result.seconds = (performance.now() - t0) / 1000;
  for (const s of sessions) s.end();
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(JSON.parse(process.argv[2]) as SubmitOptions).then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`submission client: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
