/**
 * Issue 11, finding 8 (part): the bounce listener faces the internet and had no cap on
 * recipients per message or connections per client IP. Against a real Estafeta with small
 * caps, through real SMTP (nodemailer, and a raw socket for the timing cases): recipients
 * past the cap get 452 4.5.3, connections past the per-IP or total cap get 421 and are
 * closed (other IPs still get in, and a closed connection frees its place), a silent client
 * and an endless session are cut with 421; the defaults are in the config schema.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { configSchema } from '../../src/config/index.ts';
import { verpAddress } from '../../src/mail/verp.ts';
import { smtpConnect, smtpSend, type Conn } from '../helpers/smtp-client.ts';
import { startTestEstafeta, waitFor, type TestEstafeta } from '../helpers/estafeta.ts';

const BOUNCE_DOMAIN = 'bounces.limits.test';
let e: TestEstafeta;
let host: string;
let port: number;

before(async () => {
  e = await startTestEstafeta({ bounces: { domain: BOUNCE_DOMAIN, maxRecipients: 5, maxConnectionsPerIp: 3, maxConnections: 5, idleTimeout: '1s', sessionTimeout: '2s' } });
  host = e.app.inbound!.host;
  port = e.app.inbound!.port;
});

after(async () => {
  await e?.stop();
});

const verp = (logId: number) => verpAddress(e.app.secret, logId, BOUNCE_DOMAIN);

test('the caps have documented defaults', () => {
  const b = configSchema.parse({}).bounces;
  assert.deepEqual(
    [b.maxRecipients, b.maxConnectionsPerIp, b.maxConnections, b.idleTimeout, b.sessionTimeout, b.maxSizeBytes],
    [100, 20, 200, '60s', '10m', 2 * 1024 * 1024],
  );
});

test('recipients past the cap are answered 452 4.5.3 and the message keeps the first ones', async () => {
  const to = [1, 2, 3, 4, 5, 6, 7].map(verp);
  const r = await smtpSend(host, port, { from: '', to }, 'Subject: many\r\n\r\nx\r\n');
  assert.ok(r.ok, r.response);
  assert.deepEqual(r.accepted, to.slice(0, 5));
  assert.equal(r.rejected.length, 2);
  for (const x of r.rejected) assert.match(x.response, /^452 4\.5\.3 /);
  const stored = await waitFor('the stored mail', async () => (await e.api('GET', '/bounces/inbound')).body.mails[0]);
  assert.equal(stored.to.split(',').length, 5);
});

test('connections past the per-IP cap and the total cap are answered 421 and closed; a closed one frees its place', async () => {
  const open: Conn[] = [];
  const session = async (ip: string) => {
    const c = await smtpConnect(host, port, ip);
    if (c.conn) open.push(c.conn);
    return c;
  };
  try {
    for (let i = 0; i < 3; i++) assert.equal((await session('127.0.0.5')).error, null, `connection ${i + 1} from 127.0.0.5`);
    const fourth = await session('127.0.0.5');
    assert.ok(!fourth.conn, 'a 4th connection from one IP is refused');
    assert.match(fourth.error!, /^421 4\.7\.0 too many connections from 127\.0\.0\.5/);
    // Another client is not held back by the first one's connections...
    assert.equal((await session('127.0.0.6')).error, null);
    assert.equal((await session('127.0.0.7')).error, null);
    // ...until the listener as a whole is full (5 here).
    const sixth = await session('127.0.0.8');
    assert.ok(!sixth.conn, 'a 6th connection in all is refused');
    assert.match(sixth.error!, /^421 /);

    open.shift()!.quit();
    // The place is freed once the listener has seen the close.
    const again = await waitFor('a place for 127.0.0.5', async () => {
      const c = await session('127.0.0.5');
      return c.conn ? c : null;
    }, 5000, 100);
    assert.equal(again.error, null);
  } finally {
    for (const c of open) c.close();
    await waitFor('every connection closed', async () => e.app.inbound!.openConnections() === 0, 5000, 50);
  }
});

/** A raw SMTP session: the lines the server sent, and a way to wait for one. */
function rawSession(): Promise<{ socket: Socket; lines: string[]; closed: Promise<number>; next(re: RegExp, timeoutMs: number): Promise<string | null> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, localAddress: '127.0.0.9' });
    const lines: string[] = [];
    let buffer = '';
    const started = Date.now();
    const closed = new Promise<number>((r) => socket.on('close', () => r(Date.now() - started)));
    socket.on('error', () => {});
    socket.on('data', (d) => {
      buffer += d.toString();
      const parts = buffer.split('\r\n');
      buffer = parts.pop()!;
      lines.push(...parts);
    });
    const next = async (re: RegExp, timeoutMs: number) => {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        const found = lines.find((l) => re.test(l));
        if (found) return found;
        await new Promise((r) => setTimeout(r, 20));
      }
      return null;
    };
    socket.once('connect', () => resolve({ socket, lines, closed, next }));
    socket.once('error', reject);
  });
}

test('a silent client is cut after the idle timeout with 421', async () => {
  const s = await rawSession();
  assert.ok(await s.next(/^220 /, 3000), 'greeting');
  s.socket.write('EHLO mx.remote.test\r\n');
  assert.ok(await s.next(/^250 /, 3000), 'EHLO answered');
  const cut = await s.next(/^421 /, 3000);
  s.socket.destroy();
  assert.ok(cut, `cut after 1 s of silence; got ${JSON.stringify(s.lines)}`);
});

test('a busy session is cut at the session timeout with 421 4.4.2, however active', async () => {
  const s = await rawSession();
  assert.ok(await s.next(/^220 /, 3000), 'greeting');
  s.socket.write('EHLO mx.remote.test\r\n');
  // A NOOP every 300 ms keeps the idle timeout (1 s) from ever firing.
  const drip = setInterval(() => s.socket.writable && s.socket.write('NOOP\r\n'), 300);
  try {
    const cut = await s.next(/^421 4\.4\.2 session longer than 2 s/, 4000);
    assert.ok(cut, `cut after 2 s; got ${JSON.stringify(s.lines.slice(-3))}`);
    const lifetime = await Promise.race([s.closed, new Promise<number>((r) => setTimeout(() => r(-1), 3000))]);
    assert.ok(lifetime >= 1900 && lifetime < 4000, `closed after ${lifetime} ms`);
  } finally {
    clearInterval(drip);
    s.socket.destroy();
  }
});
