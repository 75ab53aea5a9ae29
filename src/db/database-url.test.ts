import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDatabaseUrl, redact } from './database-url.ts';

test('sqlite:PATH and postgres URLs are read; the database and port have defaults', () => {
  assert.deepEqual(parseDatabaseUrl('sqlite:./data/estafeta.db'), { dialect: 'sqlite', file: './data/estafeta.db' });
  assert.deepEqual(parseDatabaseUrl('sqlite:///var/lib/estafeta.db'), { dialect: 'sqlite', file: '/var/lib/estafeta.db' });
  assert.deepEqual(parseDatabaseUrl('sqlite::memory:'), { dialect: 'sqlite', file: ':memory:' });
  const pg = parseDatabaseUrl('postgresql://est:secret@db.internal/estafeta');
  assert.equal(pg.dialect, 'postgres');
  assert.deepEqual(pg.dialect === 'postgres' && [pg.host, pg.port, pg.database], ['db.internal', 5432, 'estafeta']);
});

test('anything else is an error naming DATABASE_URL and the two forms, without the password', () => {
  for (const [url, why] of [
    ['mysql://root:pw@127.0.0.1/x', /is a mysql: URL, which Estafeta does not use \("mysql:\/\/root:\*\*\*@127\.0\.0\.1\/x"\)/],
    ['not a url', /is "not a url", which is neither/],
    ['./data/x.db', /is "\.\/data\/x\.db", which is neither/],
    ['sqlite:', /says sqlite: but names no file/],
  ] as const) {
    assert.throws(() => parseDatabaseUrl(url), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CONFIG');
      assert.match(err.message, /^DATABASE_URL \(database\.url in the configuration file, or --database\) /);
      assert.match(err.message, why);
      assert.match(err.message, /it must be sqlite:PATH \(for example sqlite:\.\/data\/estafeta\.db\) or postgres:\/\/USER:PASSWORD@HOST:PORT\/DATABASE\.$/);
      return true;
    }, url);
  }
  assert.equal(redact('postgres://u:p@h/d'), 'postgres://u:***@h/d');
});
