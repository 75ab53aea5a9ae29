import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Signals, type Emitter } from './signals.ts';

interface Map { 'a:done': { n: number }; 'b:done': Record<string, never> }

test('listeners get the payload of the signal they listen to, in the order they were connected', () => {
  const signals = new Signals<Map>();
  const seen: string[] = [];
  signals.on('a:done', (p) => seen.push(`first ${p.n}`));
  signals.on('a:done', (p) => seen.push(`second ${p.n}`));
  signals.on('b:done', () => seen.push('b'));
  const stage: Emitter<Pick<Map, 'a:done'>> = signals;
  stage.emit('a:done', { n: 1 });
  assert.deepEqual(seen, ['first 1', 'second 1']);
});

test('a listener that throws is reported and the others still run', () => {
  const errors: string[] = [];
  const signals = new Signals<Map>((name, err) => errors.push(`${name}: ${(err as Error).message}`));
  let ran = false;
  signals.on('b:done', () => {
    throw new Error('boom');
  });
  signals.on('b:done', () => (ran = true));
  signals.emit('b:done', {});
  assert.equal(ran, true);
  assert.deepEqual(errors, ['b:done: boom']);
});
