/**
 * Held since the first security review: the dashboard's file server never serves a file
 * outside the built dashboard, however the path is written (dot segments, encoded and
 * double-encoded separators, backslashes, absolute paths), and the API's path parameters
 * are ids, not file names.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startTestEstafeta, type TestEstafeta } from '../helpers/estafeta.ts';
import { buildWeb } from '../../scripts/build-web.ts';

let e: TestEstafeta;
before(async () => {
  await buildWeb({ quiet: true });
  e = await startTestEstafeta({ roles: ['api'] });
});
after(async () => e.stop());

function raw(path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const url = new URL(e.app.url!);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: 'GET', path, headers: { accept: 'text/html,*/*', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const TARGETS = ['package.json', 'README.md', '.git/config', 'src/api/server.ts', 'etc/passwd'];
const SIGNS = [/"name": "estafeta"/, /# Estafeta\n/, /\[core\]/, /buildServer/, /root:x:0:0/];

function attempts(target: string): string[] {
  const ups = ['../', '..%2f', '%2e%2e/', '%2e%2e%2f', '..%2F', '%2E%2E%2F', '..\\', '..%5c', '%252e%252e%252f', '....//', '.%2e/', '%c0%ae%c0%ae/', '..%00/'];
  const out: string[] = [];
  for (const up of ups) {
    for (const depth of [1, 2, 3, 6]) {
      out.push('/' + up.repeat(depth) + target);
      out.push('/assets/' + up.repeat(depth) + target);
    }
  }
  out.push('/' + target, '//' + target, '/%2f' + target, '/%2F' + target.replace(/\//g, '%2F'), '/file:///' + target, '/index.html/../../' + target);
  out.push('/' + '/etc/passwd', '/%2fetc%2fpasswd', '/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd', '/static/../../../../../../etc/passwd');
  return out;
}

test("the dashboard's files, and nothing beside them", async () => {
  const home = await raw('/');
  assert.equal(home.status, 200);
  assert.match(home.text, /<div id="root">/);
  const leaks: string[] = [];
  let tried = 0;
  for (const target of TARGETS) {
    for (const path of attempts(target)) {
      const r = await raw(path);
      tried++;
      if (SIGNS.some((sign) => sign.test(r.text))) leaks.push(`${path} -> ${r.status}`);
    }
  }
  assert.ok(tried > 500, `${tried} paths tried`);
  assert.deepEqual(leaks, []);
});

test('path parameters are ids: a file name in their place is refused', async () => {
  for (const path of ['/api/v1/bounces/inbound/..%2f..%2fpackage.json/raw', '/api/v1/bounces/inbound/%2e%2e/raw', '/api/v1/deliveries/..%2f..%2fetc%2fpasswd', '/api/v1/logs/..%2f1']) {
    const r = await raw(path, { authorization: `Bearer ${e.adminKey}`, accept: 'application/json' });
    assert.ok([400, 404].includes(r.status), `${path} -> ${r.status}`);
    assert.ok(!SIGNS.some((sign) => sign.test(r.text)), path);
  }
});
