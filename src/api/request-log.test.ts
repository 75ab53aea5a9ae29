import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { pino } from 'pino';
import { RequestLog } from './request-log.ts';

async function linesFor(level: string): Promise<{ level: number; msg: string; method?: string; status?: number }[]> {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  const app = Fastify({ loggerInstance: pino({ level }, sink), logController: new RequestLog() });
  app.post('/things', async () => ({ ok: true }));
  app.get('/things', async () => ({ ok: true }));
  await app.inject({ method: 'POST', url: '/things', payload: {} });
  await app.inject({ method: 'GET', url: '/things' });
  await app.close();
  return lines.map((l) => JSON.parse(l));
}

test('a request is one debug line; the default level (info) shows none', async () => {
  assert.deepEqual(await linesFor('info'), []);
  const debug = (await linesFor('debug')).filter((l) => /request/.test(l.msg));
  assert.deepEqual(debug.map((l) => [l.level, l.msg, l.method, l.status]), [[20, 'request completed', 'POST', 200]], 'one line for the POST, none for the GET');
});
