import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { postSigned } from './post.ts';
import { verifySignature } from './signature.ts';

const servers: Server[] = [];
after(() => servers.forEach((s) => s.closeAllConnections?.() ?? s.close()));

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/`;
}

test('a signed POST: the receiver can verify it; a 2xx is ok', async () => {
  let good = false;
  const url = await serve((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      good = verifySignature('s3cret', req.headers['estafeta-signature'] as string, body, Math.floor(Date.now() / 1000));
      res.writeHead(204).end();
    });
  });
  const r = await postSigned(url, 's3cret', '{"events":[]}', 2000);
  assert.equal(r.ok, true);
  assert.equal(r.statusCode, 204);
  assert.equal(good, true);
});

test('a receiver that does not answer costs the timeout, and says so', async () => {
  const url = await serve(() => {}); // never answers
  const started = Date.now();
  const r = await postSigned(url, 's', '{}', 300);
  assert.equal(r.ok, false);
  assert.equal(r.statusCode, null);
  assert.match(r.error!, /no answer within/);
  assert.ok(Date.now() - started < 2000);
});

test('an endless answer is read only up to a few kilobytes; a redirect is not followed', async () => {
  const url = await serve((req, res) => {
    if (req.url === '/redirect') return res.writeHead(302, { location: '/' }).end();
    res.writeHead(500);
    const chunk = 'x'.repeat(64 * 1024);
    const timer = setInterval(() => res.write(chunk), 1); // never ends
    res.on('close', () => clearInterval(timer));
  });
  const r = await postSigned(url, 's', '{}', 5000);
  assert.equal(r.statusCode, 500);
  assert.ok(r.error!.length < 400, `error of ${r.error!.length} characters`);
  const moved = await postSigned(`${url}redirect`, 's', '{}', 2000);
  assert.equal(moved.ok, false);
  assert.equal(moved.statusCode, 302);
});

test('a refused connection is a failure with the reason', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const r = await postSigned(`http://127.0.0.1:${port}/`, 's', '{}', 2000);
  assert.equal(r.ok, false);
  assert.match(r.error!, /ECONNREFUSED/);
});
