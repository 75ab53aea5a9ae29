/**
 * Issue 11, finding 5, over real HTTP: wrong passwords sent together are counted before
 * their checks run (64 and 300 at once get no more checks than the limit), the count is
 * per account whatever the source address, one address spraying many names is stopped, a
 * 429 says in words when to come back (and Retry-After in seconds), and checking the
 * current password to change it is throttled the same way. What needs the clock moved (the
 * lock doubling, the right password working once it ends, a success resetting the count),
 * the memory bound and /64 for IPv6 are in src/auth/throttle.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startTestEstafeta, type TestEstafeta } from '../helpers/estafeta.ts';

let e: TestEstafeta;
before(async () => {
  e = await startTestEstafeta();
});
after(async () => {
  await e.stop();
});

interface Answer {
  status: number;
  retryAfter: string | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** Signs in from a chosen loopback address (any of 127.0.0.0/8 reaches the server). */
function signIn(name: string, password: string, from = '127.0.0.1'): Promise<Answer> {
  const body = JSON.stringify({ name, password });
  return new Promise((resolve, reject) => {
    const req = http.request(`${e.app.url}/api/v1/auth/login`, { method: 'POST', localAddress: from, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function user(name: string) {
  assert.equal((await e.api('POST', '/users', { name, password: 'the-right-password', role: 'viewer' })).status, 201);
}

const count = (answers: Answer[], status: number) => answers.filter((a) => a.status === status).length;

test('300 wrong passwords at once: only the first 10 are checked, the others answer 429 at once', async () => {
  await user('parallel300');
  const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => signIn('parallel300', `wrong-${i}`)));
  assert.equal(count(answers, 401), 10);
  assert.equal(count(answers, 429), 290);
  const refused = answers.find((a) => a.status === 429)!;
  assert.match(refused.body.error.message, /^too many failed sign-ins for this user; try again in \d+ (second|minute)s?$/);
  assert.match(refused.retryAfter ?? '', /^\d+$/);
});

test('64 at a time, 200 in all: no more than 10 checked before the lock', async () => {
  await user('parallel64');
  const answers: Answer[] = [];
  for (let round = 0; round < 200 / 64; round++) answers.push(...(await Promise.all(Array.from({ length: 64 }, (_, i) => signIn('parallel64', `wrong-${round}-${i}`)))));
  assert.equal(count(answers, 401), 10);
  const last = await signIn('parallel64', 'the-right-password');
  assert.equal(last.status, 429, 'locked even with the right password');
  assert.ok(Number(last.retryAfter) > 30 && Number(last.retryAfter) <= 60, `Retry-After ${last.retryAfter}`);
  assert.match(last.body.error.message, /try again in \d+ seconds/);
});

test('the lock is per account: another source address is refused too, other accounts are not', async () => {
  await user('roamer');
  await user('bystander');
  for (let i = 0; i < 10; i++) assert.equal((await signIn('roamer', `wrong-${i}`, '127.0.0.1')).status, 401);
  const elsewhere = await signIn('roamer', 'the-right-password', '127.0.0.9');
  assert.equal(elsewhere.status, 429, 'a second address does not get fresh attempts');
  assert.equal((await signIn('bystander', 'the-right-password', '127.0.0.1')).status, 200);
});

test('one address guessing over many names is stopped too', async () => {
  const answers: Answer[] = [];
  for (let i = 0; i < 12; i++) answers.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => signIn(`nobody-${i}-${j}`, 'password-spray', '127.0.0.7')))));
  assert.equal(count(answers, 401), 100);
  assert.equal(count(answers, 429), 20);
  const spray = answers.find((a) => a.status === 429)!;
  assert.match(spray.body.error.message, /too many failed sign-ins from this address; try again in/);
  // Nobody else shares that address: another one signs in.
  await user('sprayvictim');
  assert.equal((await signIn('sprayvictim', 'the-right-password', '127.0.0.8')).status, 200);
});

test('a signed-in session cannot guess its own current password either', async () => {
  await user('changer');
  const session = await signIn('changer', 'the-right-password', '127.0.0.5');
  assert.equal(session.status, 200);
  const login = await fetch(`${e.app.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'changer', password: 'the-right-password' }) });
  const cookie = login.headers.getSetCookie()[0].split(';')[0];
  const change = (current: string) => fetch(`${e.app.url}/api/v1/auth/password`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ current, password: 'a-new-password-1' }) });
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => change(`guess-${i}`)));
  assert.equal(answers.filter((a) => a.status === 403).length, 10);
  assert.equal(answers.filter((a) => a.status === 429).length, 20);
  assert.match((await (await change('the-right-password')).json()).error.message, /too many failed sign-ins for this user/);
});
