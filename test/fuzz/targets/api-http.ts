/**
 * Fuzz target: real HTTP requests against a running test Estafeta (test/helpers/estafeta.ts,
 * admin API key): delivery bodies shaped like the schema but broken, malformed or deep
 * JSON, CSV imports, wrong content types, odd ids, query strings and path spellings, on the
 * routes that read or validate input. Slower than calling the schemas (a few ms a request),
 * so it gets a fiftieth of the runs.
 *
 * Routes that end sessions, delete users or keys, or stream forever are left out: they
 * would stop the run, not find bugs in validation.
 *
 * Invariants: no answer is a 5xx; every error answer is JSON {error: {code, message}}
 * with a message in words (no stack trace); each request answers within the hang limit.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { startTestEstafeta, type TestEstafeta } from '../../helpers/estafeta.ts';
import { jsonish, nastyString } from '../arbitraries.ts';
import type { FuzzTarget } from '../harness.ts';
import { bodyArb } from './api-schemas.ts';

const ID = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }).map(String) }, { weight: 1, arbitrary: fc.constantFrom('0', '-1', '1.5', '1e3', '9007199254740993', 'abc', '%00', '..', '%2e%2e', '1;x', '1%20', ' 1') });
const QUERY_KEYS = ['limit', 'before', 'offset', 'state', 'status', 'source', 'q', 'mode', 'wait', 'address', 'messageId', 'domain', 'reason'];
const queryArb = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), nastyString(4)), fc.oneof(fc.constantFrom('1', '0', '-1', '1000', '1001', 'abc', '', 'in-progress,paused', 'true', 'replace', 'append', 'a@b.example', '<1.1.aaaaaaaa@x>'), nastyString(10))), { maxLength: 3 }).map((pairs) => {
  const q = new URLSearchParams();
  for (const [k, v] of pairs) q.append(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
});

type Body = { kind: 'json'; value: unknown } | { kind: 'raw'; text: string; type: string } | { kind: 'none' };

const bodyOf: fc.Arbitrary<Body> = fc.oneof(
  { weight: 6, arbitrary: bodyArb.map((value) => ({ kind: 'json' as const, value })) },
  { weight: 2, arbitrary: jsonish(3).map((value) => ({ kind: 'json' as const, value })) },
  { weight: 1, arbitrary: fc.tuple(fc.oneof(nastyString(40), fc.constantFrom('{', '{"a":', '[1,]', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', 'null', '"s"', '1e999', '\ufeff{}')), fc.constantFrom('application/json', 'application/json; charset=latin1', 'text/plain', 'text/csv', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '')).map(([text, type]) => ({ kind: 'raw' as const, text, type })) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 5000 }).map((n) => ({ kind: 'raw' as const, text: '['.repeat(n) + ']'.repeat(n), type: 'application/json' })) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('email,name\n', 'e-mail;city\n', 'name\n', ''), fc.array(nastyString(12), { maxLength: 4 })).map(([h, rows]) => ({ kind: 'raw' as const, text: h + rows.join('\n'), type: 'text/csv' })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
);

const requestArb = fc.oneof(
  fc.record({ method: fc.constant('POST'), path: fc.constant('/deliveries'), body: bodyOf }),
  fc.record({ method: fc.constant('PATCH'), path: ID.map((id) => `/deliveries/${id}`), body: bodyOf }),
  fc.record({ method: fc.constant('PUT'), path: fc.tuple(ID, fc.constantFrom('', '?mode=append', '?mode=bogus')).map(([id, q]) => `/deliveries/${id}/recipients${q}`), body: bodyOf }),
  fc.record({ method: fc.constant('POST'), path: fc.constantFrom('/quarantine', '/quarantine/release', '/users', '/mta/adaptations', '/bounces/qualifications/requalify', '/auth/login', '/dkim/keys'), body: bodyOf }),
  fc.record({
    method: fc.constant('GET'),
    path: fc.tuple(fc.constantFrom('/deliveries', '/deliveries/:id', '/deliveries/:id/logs', '/deliveries/:id/kpis', '/deliveries/:id/failures', '/deliveries/:id/audit', '/deliveries/:id/throughput', '/deliveries/:id/analysis', '/logs/:id', '/logs/by-message-id', '/bounces/qualifications', '/bounces/inbound', '/bounces/inbound/:id/raw', '/quarantine', '/quarantine/entry', '/quarantine/incidents', '/quarantine/stats', '/mta/messages', '/mta/queues', '/mta/rules', '/mta/ips', '/mta/adaptations', '/dkim/keys', '/users', '/auth/me', '/health'), ID, queryArb).map(([p, id, q]) => p.replace(':id', id) + q),
    body: fc.constant({ kind: 'none' as const }),
  }),
);

type Input = { method: string; path: string; body: Body };

let estafeta: TestEstafeta | null = null;

async function check(input: Input): Promise<void> {
  const app = estafeta!;
  const headers: Record<string, string> = { authorization: `Bearer ${app.adminKey}` };
  let body: string | undefined;
  if (input.body.kind === 'json') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(input.body.value) ?? 'null';
  } else if (input.body.kind === 'raw') {
    if (input.body.type) headers['content-type'] = input.body.type;
    body = input.body.text;
  }
  const res = await fetch(`${app.app.url}/api/v1${input.path}`, { method: input.method, headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  assert.ok(res.status < 500, `${input.method} ${input.path} answered ${res.status}: ${text.slice(0, 500)}`);
  if (res.status >= 400) {
    let parsed: { error?: { code?: unknown; message?: unknown } };
    try {
      parsed = JSON.parse(text);
    } catch {
      assert.fail(`${input.method} ${input.path} answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    assert.ok(typeof parsed.error?.code === 'string' && typeof parsed.error.message === 'string', `${res.status} without {error: {code, message}}: ${text.slice(0, 200)}`);
    assert.ok(!/\n\s+at /.test(parsed.error.message), `the error message carries a stack trace: ${parsed.error.message.slice(0, 300)}`);
  }
}

export const apiHttpTarget: FuzzTarget<Input> = {
  name: 'api-http',
  description: 'real HTTP requests to a running test Estafeta (validation, error answers)',
  arbitrary: () => requestArb,
  async: true,
  check,
  weight: 0.02,
  async setup() {
    estafeta ??= await startTestEstafeta();
  },
  async teardown() {
    await estafeta?.stop();
    estafeta = null;
  },
};
