import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { databaseInWords, startBanner } from './banner.ts';

test('the database in words: a full SQLite path, or PostgreSQL without its password', () => {
  assert.equal(databaseInWords('sqlite:./data/estafeta.db'), `SQLite file ${resolve('data/estafeta.db')}`);
  assert.equal(databaseInWords('sqlite::memory:'), 'SQLite in memory (gone when Estafeta stops)');
  const pg = databaseInWords('postgres://estafeta:s3cret@db.internal:6432/mail');
  assert.equal(pg, 'PostgreSQL database mail on db.internal:6432 (user estafeta)');
  assert.ok(!pg.includes('s3cret'));
});

test('the banner names the dashboard, the API and the database', () => {
  const text = startBanner({ url: 'http://127.0.0.1:8025', databaseUrl: 'sqlite:/var/lib/estafeta/e.db', roles: ['api', 'mta'] });
  assert.match(text, /Dashboard  http:\/\/127\.0\.0\.1:8025\/\n/);
  assert.match(text, /API        http:\/\/127\.0\.0\.1:8025\/api\/v1 \(docs http:\/\/127\.0\.0\.1:8025\/api\/docs\)/);
  assert.match(text, /Database   SQLite file \/var\/lib\/estafeta\/e\.db/);
  assert.ok(!/Dashboard/.test(startBanner({ url: null, databaseUrl: 'sqlite:x.db', roles: ['mta'] })), 'no dashboard without the api role');
});

test('the banner says where applications submit mail and where bounces arrive, for the roles that run them', () => {
  const text = startBanner({ url: 'http://127.0.0.1:8025', databaseUrl: 'sqlite:x.db', roles: ['api', 'inbound', 'submission'], bounces: { host: '127.0.0.1', port: 2526 }, submission: { host: '127.0.0.1', port: 2587 } });
  assert.match(text, /SMTP {7}127\.0\.0\.1:2587 for applications \(STARTTLS/);
  assert.match(text, /Bounces {4}127\.0\.0\.1:2526/);
  assert.doesNotMatch(startBanner({ url: null, databaseUrl: 'sqlite:x.db', roles: ['mta'] }), /SMTP|Bounces/);
});
