import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram } from './program.ts';

function* walk(cmd: Command, path: string[] = []): Generator<[string, Command]> {
  yield [path.join(' ') || 'estafeta', cmd];
  for (const sub of cmd.commands) yield* walk(sub, [...path, sub.name()]);
}

test('every command and every option of estafeta says what it does', () => {
  const missing: string[] = [];
  let options = 0;
  for (const [name, cmd] of walk(buildProgram())) {
    if (!cmd.description().trim()) missing.push(`command "${name}"`);
    for (const o of cmd.options) {
      options++;
      if (!o.description.trim()) missing.push(`${name} ${o.flags}`);
    }
  }
  assert.deepEqual(missing, [], `without help text:\n  ${missing.join('\n  ')}`);
  assert.ok(options > 80, `walked ${options} options`);
});
