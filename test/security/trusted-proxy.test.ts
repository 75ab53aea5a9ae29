/**
 * Behind a reverse proxy every client arrives from the proxy's address, so sign-in
 * throttling per address would lock everybody at once. With `http.trustedProxies`, the
 * X-Forwarded-For of a trusted proxy names the client; from anyone else the header is
 * ignored, so a client cannot dodge its own lock by writing one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startTestEstafeta, type TestEstafeta } from '../helpers/estafeta.ts';

let e: TestEstafeta;
before(async () => {
  e = await startTestEstafeta({ roles: ['api'], http: { trustedProxies: ['127.0.0.1'] } });
});
after(async () => e.stop());

function signIn(name: string, from: string, forwardedFor?: string): Promise<number> {
  const body = JSON.stringify({ name, password: 'not-the-password' });
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
  return new Promise((resolve, reject) => {
    const req = http.request(`${e.app.url}/api/v1/auth/login`, { method: 'POST', localAddress: from, agent: false, headers }, (res) => {
      res.resume().on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test("a trusted proxy's X-Forwarded-For names the client; anyone else's is ignored", async () => {
  // One client behind the proxy sprays names until its address is locked.
  const statuses: number[] = [];
  for (let i = 0; i < 11; i++) statuses.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => signIn(`spray-${i}-${j}`, '127.0.0.1', '198.51.100.7')))));
  assert.equal(statuses.filter((s) => s === 401).length, 100);
  assert.equal(statuses.filter((s) => s === 429).length, 10);
  // Another client behind the same proxy is not locked with it.
  assert.equal(await signIn('someone', '127.0.0.1', '198.51.100.8'), 401);
  // A client that is not a trusted proxy cannot claim to be the locked one, nor escape its own address.
  assert.equal(await signIn('someone-else', '127.0.0.9', '198.51.100.7'), 401);
});
