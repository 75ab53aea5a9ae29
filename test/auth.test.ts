/**
 * Authentication and roles over real HTTP: no credentials get 401 (except health), API keys
 * and session cookies work, a viewer reads but cannot confirm (403 with a clear message),
 * secrets (passwords, API keys, DKIM private keys) are never shown back, the audit trail names who acted, and the live stream
 * pushes a change within two seconds.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEstafeta, TEST_ADMIN_PASSWORD, type TestEstafeta } from './helpers/estafeta.ts';

let e: TestEstafeta;
before(async () => {
  e = await startTestEstafeta();
});
after(async () => {
  await e.stop();
});

const delivery = { label: 'Auth test', from: { address: 'news@shop.example' }, subject: 'Hi', text: 'Hi {{ unsubscribeUrl }}', recipients: [{ email: 'a@x.test' }] };

async function signIn(name: string, password: string): Promise<{ status: number; cookie: string; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${e.app.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
  const setCookie = res.headers.getSetCookie()[0] ?? '';
  return { status: res.status, cookie: setCookie.split(';')[0], body: await res.json() };
}

async function withCookie(cookie: string, method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
  const res = await fetch(`${e.app.url}/api/v1${path}`, {
    method,
    headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...extra },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

test('without credentials every route but health answers 401', async () => {
  const anon = e.as(null);
  assert.equal((await anon('GET', '/health')).status, 200);
  for (const [method, path] of [['GET', '/deliveries'], ['POST', '/deliveries'], ['GET', '/deliveries/1/logs'], ['GET', '/users'], ['GET', '/logs/1']]) {
    const r = await anon(method, path, method === 'POST' ? delivery : undefined);
    assert.equal(r.status, 401, `${method} ${path}`);
    assert.match(r.body.error.message, /authentication required/);
  }
  const bad = await e.as('est_not-a-key')('GET', '/deliveries');
  assert.equal(bad.status, 401);
  assert.match(bad.body.error.message, /API key is not valid/);
});

test('the bootstrap admin signs in with a session cookie; a wrong password is refused', async () => {
  const wrong = await signIn('admin', 'not the password');
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error.message, 'wrong user name or password');
  const ok = await signIn('ADMIN', TEST_ADMIN_PASSWORD);
  assert.equal(ok.status, 200);
  assert.match(ok.cookie, /^estafeta_session=/);
  assert.deepEqual(ok.body.user, { kind: 'user', id: ok.body.user.id, name: 'admin', role: 'admin' });
  const me = await withCookie(ok.cookie, 'GET', '/auth/me');
  assert.equal(me.body.user.name, 'admin');
  // A cookie-borne change from another site is refused.
  const csrf = await withCookie(ok.cookie, 'POST', '/deliveries', delivery, { origin: 'https://evil.example' });
  assert.equal(csrf.status, 403);
  const out = await withCookie(ok.cookie, 'POST', '/auth/logout');
  assert.equal(out.status, 204);
  assert.equal((await withCookie(ok.cookie, 'GET', '/auth/me')).status, 401);
});

test('passwords and API keys are never shown back', async () => {
  const password = 'a-very-secret-password';
  const created = await e.api('POST', '/users', { name: 'Ana', password, role: 'operator' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.name, 'ana');
  const key = await e.api('POST', '/api-keys', { name: 'ci-bot', role: 'operator' });
  assert.equal(key.status, 201);
  assert.match(key.body.key, /^est_/);
  const everything = JSON.stringify([created.body, (await e.api('GET', '/users')).body, (await e.api('GET', '/api-keys')).body, (await e.api('PATCH', `/users/${created.body.id}`, { role: 'viewer' })).body]);
  assert.ok(!everything.includes(password), 'no password');
  assert.ok(!everything.includes('scrypt$'), 'no password hash');
  assert.ok(!everything.includes(key.body.key), 'no API key after its creation');
  // DKIM private keys stay on the server too: creating and listing keys shows public parts only.
  const dkim = await e.api('POST', '/dkim/keys', { domain: 'shop.example', selector: 's1', algorithm: 'ed25519-sha256' });
  assert.equal(dkim.status, 201, JSON.stringify(dkim.body));
  const dkimAll = JSON.stringify([dkim.body, (await e.api('GET', '/dkim/keys')).body, (await e.api('GET', `/dkim/keys/${dkim.body.id}`)).body]);
  assert.ok(!/PRIVATE KEY|privateKey/i.test(dkimAll), 'no DKIM private key');
  const listed = (await e.api('GET', '/api-keys')).body.apiKeys.find((k: { name: string }) => k.name === 'ci-bot');
  assert.equal(listed.prefix, key.body.key.slice(0, 10));
  // Too short a password, a taken name, the last admin: clear refusals.
  assert.match((await e.api('POST', '/users', { name: 'bob', password: 'short', role: 'viewer' })).body.error.message, /at least 10 characters/);
  assert.equal((await e.api('POST', '/users', { name: 'ana', password, role: 'viewer' })).status, 409);
  const admin = (await e.api('GET', '/users')).body.users.find((u: { name: string }) => u.name === 'admin');
  const demote = await e.api('PATCH', `/users/${admin.id}`, { role: 'viewer' });
  assert.equal(demote.status, 409);
  assert.match(demote.body.error.message, /last admin/);
});

test('an API key works, names the audit actor, and stops working once revoked', async () => {
  const key = (await e.api('POST', '/api-keys', { name: 'deploy-script', role: 'operator' })).body;
  const ops = e.as(key.key);
  const d = await ops('POST', '/deliveries', delivery);
  assert.equal(d.status, 201, JSON.stringify(d.body));
  // An operator key cannot manage users.
  const users = await ops('GET', '/users');
  assert.equal(users.status, 403);
  assert.match(users.body.error.message, /needs the admin role/);
  const analyzed = await ops('POST', `/deliveries/${d.body.id}/analyze`);
  assert.equal(analyzed.status, 200, JSON.stringify(analyzed.body));
  const session = await signIn('admin', TEST_ADMIN_PASSWORD);
  assert.equal((await withCookie(session.cookie, 'PATCH', `/deliveries/${d.body.id}`, { label: 'Renamed' })).status, 200);
  const audit = (await e.api('GET', `/deliveries/${d.body.id}/audit`)).body.entries;
  assert.deepEqual(audit.map((a: { actor: string; action: string }) => [a.actor, a.action]).slice(0, 2), [['deploy-script (API key)', 'created'], ['deploy-script (API key)', 'analysis-started']]);
  assert.ok(audit.some((a: { actor: string }) => a.actor === 'admin'), JSON.stringify(audit));
  assert.equal((await e.api('DELETE', `/api-keys/${key.id}`)).status, 204);
  assert.equal((await ops('GET', '/deliveries')).status, 401);
});

test('a viewer can read but cannot confirm (403 with a clear message)', async () => {
  await e.api('POST', '/users', { name: 'vera', password: 'viewer-password', role: 'viewer' });
  const d = (await e.api('POST', '/deliveries', delivery)).body;
  assert.equal((await e.api('POST', `/deliveries/${d.id}/analyze`)).status, 200);
  const viewer = await signIn('vera', 'viewer-password');
  assert.equal(viewer.status, 200);
  assert.equal((await withCookie(viewer.cookie, 'GET', `/deliveries/${d.id}`)).status, 200);
  assert.equal((await withCookie(viewer.cookie, 'GET', `/deliveries/${d.id}/logs`)).status, 200);
  const confirm = await withCookie(viewer.cookie, 'POST', `/deliveries/${d.id}/confirm`);
  assert.equal(confirm.status, 403);
  assert.equal(confirm.body.error.message, 'user "vera" has the viewer role, which cannot do this (POST /api/v1/deliveries/' + d.id + '/confirm needs the operator or admin role)');
  for (const [method, path, body] of [['POST', `/deliveries/${d.id}/analyze`], ['PATCH', `/deliveries/${d.id}`, { label: 'x' }], ['PUT', `/deliveries/${d.id}/recipients`, []], ['POST', '/quarantine/release', { address: 'a@x.test' }]] as const) {
    assert.equal((await withCookie(viewer.cookie, method, path, body)).status, 403, `${method} ${path}`);
  }
  assert.equal((await e.api('GET', `/deliveries/${d.id}`)).body.state, 'pending-confirmation', 'still unconfirmed');
  // A viewer may still change their own password.
  assert.equal((await withCookie(viewer.cookie, 'POST', '/auth/password', { current: 'viewer-password', password: 'another-password' })).status, 204);
  assert.equal((await signIn('vera', 'another-password')).status, 200);
});

test('the delivery stream pushes a change within two seconds', async () => {
  const d = (await e.api('POST', '/deliveries', delivery)).body;
  const ac = new AbortController();
  const res = await fetch(`${e.app.url}/api/v1/deliveries/${d.id}/stream`, { headers: { authorization: `Bearer ${e.adminKey}` }, signal: ac.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.getReader();
  const events: { state: string; label: string }[] = [];
  let buffer = '';
  const read = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += Buffer.from(value).toString('utf8');
      let i;
      while ((i = buffer.indexOf('\n\n')) >= 0) {
        const chunk = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const data = /^data: (.*)$/m.exec(chunk)?.[1];
        if (/^event: delivery$/m.test(chunk) && data) events.push(JSON.parse(data).delivery);
      }
    }
  })().catch(() => {});
  const waitFor = async (fn: () => boolean, ms: number) => {
    const until = Date.now() + ms;
    while (!fn()) {
      if (Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  };
  assert.ok(await waitFor(() => events.length === 1, 2000), 'first event on connect');
  assert.equal(events[0].state, 'being-edited');
  const changedAt = Date.now();
  await e.api('POST', `/deliveries/${d.id}/analyze`);
  assert.ok(await waitFor(() => events.some((x) => x.state === 'pending-confirmation'), 2000), JSON.stringify(events));
  assert.ok(Date.now() - changedAt < 2000);
  ac.abort();
  await read;
});

test('repeated wrong passwords for one user answer 429 for a while', async () => {
  await e.api('POST', '/users', { name: 'guessme', password: 'the-right-password', role: 'viewer' });
  for (let i = 0; i < 10; i++) assert.equal((await signIn('guessme', `wrong-${i}`)).status, 401);
  const limited = await signIn('guessme', 'the-right-password');
  assert.equal(limited.status, 429);
  assert.match(limited.body.error.message, /too many failed sign-ins/);
  assert.equal((await signIn('admin', TEST_ADMIN_PASSWORD)).status, 200, 'other users are not affected');
});
