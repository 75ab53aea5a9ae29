/**
 * Finding 1 of the security review: the API answered without credentials when its path was
 * spelled another way (`/api/%761/users`), because authentication looked at the raw URL
 * while the router matched the decoded one. Every route of the OpenAPI document, in every
 * spelling an attacker would try, must be refused without credentials, and an admin route
 * must be refused to a viewer; only the routes declared public answer.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startTestEstafeta, type TestEstafeta } from '../helpers/estafeta.ts';
import { createApiKey } from '../../src/auth/index.ts';
import { defaultAccess } from '../../src/api/auth-hook.ts';

let e: TestEstafeta;
let viewerKey: string;
before(async () => {
  e = await startTestEstafeta();
  viewerKey = (await createApiKey(e.app.db.kysely, { name: 'viewer-key', role: 'viewer', createdBy: 'test' })).key;
});
after(async () => {
  await e.stop();
});

/** Sends the path exactly as written: fetch() would normalize it first. */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; text: string }> {
  const url = new URL(e.app.url!);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

const pct = (c: string) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0');

/** The ways to write one path that a router may decode or normalize to the same route. */
export function spellings(path: string): string[] {
  const out = new Set<string>([path]);
  const letters = [...path].map((c, i) => [c, i] as const).filter(([c]) => /[a-z0-9]/i.test(c));
  for (const [c, i] of letters) out.add(path.slice(0, i) + pct(c) + path.slice(i + 1)); // one character encoded
  for (const [c, i] of letters.slice(0, 8)) out.add(path.slice(0, i) + pct(c).toUpperCase() + path.slice(i + 1));
  out.add([...path].map((c) => (/[a-z0-9]/i.test(c) ? pct(c) : c)).join('')); // all encoded
  out.add(path.replace(/v1/, '%2576%2531')); // double-encoded
  out.add(path.replace(/^\/api\/v1/, '/api/%76%31'));
  out.add(path.toUpperCase());
  out.add(path.replace(/^\/api\/v1/, '/API/V1'));
  out.add(path.replace(/^\/api\/v1/, '/Api/v1'));
  out.add('/' + path);
  out.add(path.replace('/api/', '/api//'));
  out.add(path.replace(/\/v1\//, '/v1//'));
  out.add(path + '/');
  out.add(path + '//');
  out.add(path + '.');
  out.add(path + ';');
  out.add(path + ';x=1');
  out.add(path.replace('/api/', '/api;/'));
  out.add(path.replace('/v1/', '/v1;/'));
  out.add(path.replace('/api/v1/', '/api/v1/./'));
  out.add(path.replace('/api/v1/', '/api/v1/x/../'));
  out.add(path.replace('/api/v1/', '/api/v1/%2e/'));
  out.add(path.replace('/api/v1/', '/api/x/%2e%2e/v1/'));
  out.add(path.replace('/api/v1/', '/api/v1%2f'));
  out.add(path.replace('/api/v1/', '/api/v1/%2F'));
  out.add(path + '?x=1');
  out.add(path + '#x');
  out.add(path + '%00');
  out.add(path + '%20');
  return [...out];
}

interface Operation { method: string; path: string; public: boolean }

async function operations(): Promise<Operation[]> {
  const doc = JSON.parse((await raw('GET', '/api/v1/openapi.json')).text);
  const ops: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>)) {
    const path = template.replace(/\{[^}]+\}/g, '1');
    for (const method of Object.keys(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      ops.push({ method: method.toUpperCase(), path, public: PUBLIC.has(`${method.toUpperCase()} ${template}`) });
    }
  }
  return ops;
}

/**
 * The routes a caller without credentials may reach: health (with liveness and readiness), login, the document itself, and
 * the recipients' routes (open pixel, tracked links, unsubscribe), whose tokens are signed.
 */
const PUBLIC = new Set(['GET /api/v1/health', 'GET /api/v1/health/live', 'GET /api/v1/health/ready', 'POST /api/v1/auth/login', 'GET /t/o/{token}', 'GET /t/c/{token}', 'GET /unsubscribe/{token}', 'POST /unsubscribe/{token}']);

test('every spelling of every route is refused without credentials', async () => {
  const ops = await operations();
  assert.ok(ops.length >= 25, `the OpenAPI document lists ${ops.length} operations`);
  const leaks: string[] = [];
  let tried = 0;
  for (const op of ops.filter((o) => !o.public)) {
    for (const path of spellings(op.path)) {
      const r = await raw(op.method, path, {}, op.method === 'GET' || op.method === 'DELETE' ? undefined : '{"name":"x","password":"long-password-1","role":"admin"}');
      tried++;
      // 401 (authenticate), 403 (the file server refuses the path), 404 (no such route) and 400 (a path the server cannot read) are
      // refusals; anything else means the request went past authentication.
      if (![400, 401, 403, 404].includes(r.status)) leaks.push(`${op.method} ${path} -> ${r.status} ${r.text.slice(0, 80)}`);
    }
  }
  assert.ok(tried > 1000, `tried ${tried} requests`);
  assert.deepEqual(leaks, []);
  // The request of the finding creates nobody.
  const users = await e.api('GET', '/users');
  assert.deepEqual(users.body.users.map((u: { name: string }) => u.name), ['admin']);
});

test('every spelling of an admin route is refused to a viewer', async () => {
  const leaks: string[] = [];
  for (const [method, path] of [['POST', '/api/v1/users'], ['GET', '/api/v1/users'], ['POST', '/api/v1/api-keys'], ['GET', '/api/v1/api-keys']]) {
    for (const p of spellings(path)) {
      const r = await raw(method, p, { authorization: `Bearer ${viewerKey}` }, method === 'POST' ? '{"name":"x","password":"long-password-1","role":"admin"}' : undefined);
      if (![400, 403, 404].includes(r.status)) leaks.push(`${method} ${p} -> ${r.status}`);
    }
  }
  assert.deepEqual(leaks, []);
});

test('the live streams need credentials in every spelling', async () => {
  for (const p of spellings('/api/v1/stream').concat(spellings('/api/v1/deliveries/1/stream'))) {
    const r = await raw('GET', p);
    assert.ok([400, 401, 403, 404].includes(r.status), `GET ${p} -> ${r.status}`);
  }
});

test('the public routes stay open, and a route outside the API that declares no access is closed', async () => {
  assert.equal((await raw('GET', '/api/v1/health')).status, 200);
  assert.equal((await raw('GET', '/api/%76%31/health')).status, 200);
  assert.equal((await raw('GET', '/api/v1/openapi.json')).status, 200);
  assert.equal((await raw('POST', '/api/v1/auth/login', {}, '{"name":"admin","password":"wrong password here"}')).status, 401);
});

test('a route declares its access, or gets the closed default', () => {
  assert.equal(defaultAccess('/api/v1/deliveries', 'GET'), 'viewer');
  assert.equal(defaultAccess('/api/v1/deliveries', 'POST'), 'operator');
  assert.equal(defaultAccess('/api/v1/deliveries', ['GET', 'POST']), 'operator');
  assert.equal(defaultAccess('/api/docs/json', 'GET'), 'public');
  assert.equal(defaultAccess('/some-new-route', 'GET'), 'admin');
  assert.equal(defaultAccess('/apiv1/x', 'GET'), 'admin');
});
