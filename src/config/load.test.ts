import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from './index.ts';

test('defaults: SQLite file, port 8025, all roles, 3.5 days validity', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.database.url, 'sqlite:./data/estafeta.db');
  assert.equal(c.http.port, 8025);
  assert.deepEqual(c.roles, ['api', 'sender', 'mta', 'inbound', 'feedback', 'submission']);
  assert.equal(c.submission.listen.port, 2587);
  assert.equal(c.submission.allowPlainOnLoopback, false);
  assert.equal(c.deliveries.defaultValidity, '3.5d');
});

test('environment variables override the file, and the file overrides defaults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-config-'));
  const file = join(dir, 'estafeta.yaml');
  writeFileSync(file, 'http:\n  port: 9000\nmta:\n  port: 2525\n');
  const c = loadConfig({ file, env: { ESTAFETA_HTTP_PORT: '9100', DATABASE_URL: 'postgres://x/y' } });
  assert.equal(c.http.port, 9100);
  assert.equal(c.mta.port, 2525);
  assert.equal(c.database.url, 'postgres://x/y');
});

test('invalid values are reported with the setting and where the value came from', () => {
  assert.throws(
    () => loadConfig({ env: { ESTAFETA_HTTP_PORT: '99999', ESTAFETA_ROLES: 'api,mailer' } }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /http\.port: .*\[from environment variable ESTAFETA_HTTP_PORT\]/);
      assert.match(err.message, /roles\.1: .*expected one of .*"mta".*ESTAFETA_ROLES/);
      return true;
    },
  );
});

test('a missing config file is a clear error', () => {
  assert.throws(() => loadConfig({ file: '/nonexistent/estafeta.yaml', env: {} }), /config file \/nonexistent\/estafeta.yaml does not exist/);
});

test('a misspelled setting in the file is an error naming the nearest valid one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'estafeta-config-'));
  const file = join(dir, 'estafeta.yaml');
  writeFileSync(file, 'databse:\n  url: sqlite:x.db\nhttp:\n  prot: 9000\nbounces:\n  listen:\n    hots: 0.0.0.0\nzzzqqq: 1\n');
  assert.throws(() => loadConfig({ file, env: {} }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /databse: not a setting \(did you mean `database`\?\)/);
    assert.match(err.message, /http\.prot: not a setting \(did you mean `http\.port`\?\)/);
    assert.match(err.message, /bounces\.listen\.hots: not a setting \(did you mean `bounces\.listen\.host`\?\)/);
    assert.match(err.message, /zzzqqq: not a setting\n/);
    return true;
  });
  writeFileSync(file, 'database:\n  url: sqlite:x.db\nhttp:\n  port: 9000\n');
  assert.equal(loadConfig({ file, env: {} }).http.port, 9000);
});
