/**
 * A receiving MX for tests: a real smtp-server on a loopback address that accepts, refuses
 * or defers each recipient as the test decides, and keeps what it accepted (without the
 * bodies when asked: test/helpers/cluster-sink.ts counts tens of thousands of messages).
 */
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  remoteAddress: string;
  tls: boolean;
  /** When the message was accepted (ms since the epoch). */
  at: number;
}

/** Return null to accept, or a reply such as { code: 550, text: '5.1.1 user unknown' }. */
export type RcptPolicy = (rcpt: string, session: SMTPServerSession) => { code: number; text: string } | null;

export interface Sink {
  host: string;
  port: number;
  received: ReceivedMail[];
  connections: { now: number; max: number; total: number };
  stop(): Promise<void>;
}

export async function startSink(host: string, port: number, rcptPolicy: RcptPolicy = () => null, options: { secure?: boolean; hideStartTls?: boolean; noStartTls?: boolean; /** Wait this long after the data before accepting (a slow receiver). */ dataDelayMs?: number; /** false: keep the envelope only (raw is empty). */ keepBodies?: boolean } = {}): Promise<Sink> {
  const received: ReceivedMail[] = [];
  const connections = { now: 0, max: 0, total: 0 };
  const server = new SMTPServer({
    authOptional: true,
    // noStartTls: the server refuses STARTTLS outright (hideStartTls only leaves it out of EHLO).
    disabledCommands: options.noStartTls ? ['AUTH', 'STARTTLS'] : ['AUTH'],
    hideSTARTTLS: options.hideStartTls ?? false,
    logger: false,
    size: 10 * 1024 * 1024,
    onConnect(_session, cb) {
      connections.now++;
      connections.total++;
      connections.max = Math.max(connections.max, connections.now);
      cb();
    },
    onClose() {
      connections.now--;
    },
    onRcptTo(address: SMTPServerAddress, session, cb) {
      const verdict = rcptPolicy(address.address, session);
      if (!verdict) return cb();
      const err = new Error(verdict.text) as Error & { responseCode: number };
      err.responseCode = verdict.code;
      cb(err);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => {
        if (options.keepBodies !== false) chunks.push(c);
      });
      const accept = () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          remoteAddress: session.remoteAddress,
          tls: Boolean(session.secure),
          at: Date.now(),
        });
        cb(null);
      };
      stream.on('end', () => (options.dataDelayMs ? setTimeout(accept, options.dataDelayMs) : accept()));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.on('error', () => {});
  return {
    host,
    port,
    received,
    connections,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A port free on every loopback address the test uses (tries a few at random), from 20000 up
 * to `below`: 32768 keeps it under the system's ephemeral range, where no listen(0) of
 * another test can be given it while it is closed.
 */
export async function freePort(hosts: string[], below = 50000): Promise<number> {
  const net = await import('node:net');
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * (below - 20000));
    const ok = await Promise.all(
      hosts.map(
        (h) =>
          new Promise<boolean>((resolve) => {
            const s = net.createServer();
            s.once('error', () => resolve(false));
            s.listen(port, h, () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (ok.every(Boolean)) return port;
  }
  throw new Error('no free port found');
}
