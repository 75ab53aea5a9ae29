import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from './logger.ts';

function sink(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write(c, _e, done) { chunks.push(String(c)); done(); } }) as Writable & { isTTY: boolean; text: () => string };
  w.isTTY = isTTY;
  w.text = () => chunks.join('');
  return w;
}

test('on a terminal a log entry is one readable line; elsewhere, and with json, a JSON object', () => {
  const tty = sink(true);
  createLogger({ destination: tty }).child({ component: 'mta' }).warn({ site: 'gmail' }, 'site throttled');
  const line = tty.text().replace(/\x1b\[[0-9;]*m/g, '');
  assert.match(line, /^\[\d\d:\d\d:\d\d\] WARN: mta: site throttled \{"site":"gmail"\}\n$/);

  const pipe = sink(false);
  createLogger({ destination: pipe }).info({ a: 1 }, 'started');
  assert.equal(JSON.parse(pipe.text()).msg, 'started');

  const forced = sink(true);
  createLogger({ destination: forced, format: 'json' }).info('started');
  assert.equal(JSON.parse(forced.text()).level, 30);
});
