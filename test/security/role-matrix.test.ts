/**
 * The role matrix, held since the first security review and kept so: every operation of the
 * OpenAPI document, called by seven callers (nobody, a mistyped key, a revoked key, a viewer,
 * an operator, an admin, and a signed-in admin's cookie sent from another site), is let
 * through or refused as the README documents. The expected role of each route is written
 * here from the documentation, not read from the server, and the document's own
 * `x-estafeta-access` must say the same.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEstafeta, TEST_ADMIN_PASSWORD, type TestEstafeta } from '../helpers/estafeta.ts';
import { createApiKey, deleteApiKey } from '../../src/auth/index.ts';

let e: TestEstafeta;
const keys: Record<string, string> = {};
let cookie = '';
before(async () => {
  e = await startTestEstafeta({ roles: ['api'] });
  for (const role of ['viewer', 'operator', 'admin'] as const) keys[role] = (await createApiKey(e.app.db.kysely, { name: `matrix-${role}`, role, createdBy: 'test' })).key;
  const revoked = await createApiKey(e.app.db.kysely, { name: 'matrix-revoked', role: 'admin', createdBy: 'test' });
  await deleteApiKey(e.app.db.kysely, revoked.id);
  keys.revoked = revoked.key;
  const res = await fetch(`${e.app.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', password: TEST_ADMIN_PASSWORD }) });
  cookie = res.headers.getSetCookie()[0].split(';')[0];
});
after(async () => e.stop());

type Need = 'public' | 'viewer' | 'operator' | 'admin';

/** What the README says each route needs. */
function documented(method: string, template: string): Need {
  if (['GET /api/v1/health', 'GET /api/v1/health/live', 'GET /api/v1/health/ready', 'POST /api/v1/auth/login'].includes(`${method} ${template}`)) return 'public';
  // The recipients' routes: the open pixel, tracked links and the unsubscribe page (signed tokens).
  if (/^\/(t\/[oc]|unsubscribe)\/\{token\}$/.test(template)) return 'public';
  if (template.startsWith('/api/v1/auth/')) return 'viewer';
  if (/^\/api\/v1\/(users|api-keys)(\/|$)/.test(template)) return 'admin';
  if (template.startsWith('/api/v1/dkim/') && method !== 'GET') return 'admin';
  // Webhooks send every recipient's events to a URL of the caller's choice, with a secret.
  if (/^\/api\/v1\/webhooks(\/|$)/.test(template) && method !== 'GET') return 'admin';
  // Reading them too says where recipients' data goes and what receivers answer: operators (URLs redacted), not viewers.
  if (/^\/api\/v1\/webhooks(\/|$)/.test(template)) return 'operator';
  // SMTP credentials send mail as a stream's domains, as an API key would: listed, made and revoked by admins.
  if (/^\/api\/v1\/streams\/\{id\}\/smtp-credentials(\/|$)/.test(template)) return 'admin';
  return method === 'GET' ? 'viewer' : 'operator';
}

const RANK: Record<Need, number> = { public: 0, viewer: 1, operator: 2, admin: 3 };

async function call(method: string, path: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(`${e.app.url}${path}`, {
    method,
    headers: method === 'GET' || method === 'DELETE' ? headers : { 'content-type': 'application/json', ...headers },
    body: method === 'GET' || method === 'DELETE' ? undefined : '{}',
    signal: AbortSignal.timeout(5000),
  });
  await res.body?.cancel();
  return res.status;
}

test('seven callers against every operation of the OpenAPI document', async () => {
  const doc = await (await fetch(`${e.app.url}/api/v1/openapi.json`)).json();
  const ops: { method: string; template: string; path: string; need: Need }[] = [];
  for (const [template, item] of Object.entries<Record<string, { 'x-estafeta-access'?: string; security?: unknown[] }>>(doc.paths)) {
    for (const [m, op] of Object.entries(item)) {
      const method = m.toUpperCase();
      const need = documented(method, template);
      assert.equal(op['x-estafeta-access'], need, `the document's access of ${method} ${template}`);
      assert.equal((op.security ?? []).length === 0, need === 'public', `the document's security of ${method} ${template}`);
      // Ids that exist nowhere: an allowed call answers 404 or 400, never 401 or 403.
      ops.push({ method, template, path: template.replace(/\{[^}]+\}/g, '999999'), need });
    }
  }
  assert.ok(ops.length >= 26, `${ops.length} operations`);
  const wrong: string[] = [];
  const expect = (ok: boolean, status: number, who: string, op: (typeof ops)[number]) => {
    const refused = status === 401 || status === 403;
    if (ok === refused) wrong.push(`${who}: ${op.method} ${op.template} -> ${status} (needs ${op.need})`);
  };
  // Streams never end: skip the ones a caller is allowed to open.
  const isStream = (op: (typeof ops)[number]) => op.template.endsWith('/stream');
  for (const op of ops) {
    if (op.template === '/api/v1/auth/logout') continue; // would end the cookie's session; covered in auth.test.ts
    expect(op.need === 'public', await call(op.method, op.path, {}), 'nobody', op);
    expect(op.need === 'public', await call(op.method, op.path, { authorization: 'Bearer est_mistyped' }), 'mistyped key', op);
    expect(op.need === 'public', await call(op.method, op.path, { authorization: `Bearer ${keys.revoked}` }), 'revoked key', op);
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const allowed = RANK[role] >= RANK[op.need];
      if (allowed && isStream(op)) continue;
      if (role === 'admin' && op.method === 'DELETE') continue; // would remove what the other callers use
      expect(allowed, await call(op.method, op.path, { authorization: `Bearer ${keys[role]}` }), role, op);
    }
    if (op.method !== 'GET' && op.need !== 'public') {
      expect(false, await call(op.method, op.path, { cookie, origin: 'https://evil.example' }), 'cookie from another site', op);
    }
  }
  assert.deepEqual(wrong, []);
});
