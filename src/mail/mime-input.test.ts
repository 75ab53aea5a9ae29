import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBounceMail } from './bounce-mail.ts';
import { boundInput } from './mime-input.ts';

const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

// Found by the fuzzer (npm run fuzz -- --target bounce-mail): a bounce of many short lines
// (a few hundred KB) cost 1 to 2.4 s of CPU on the thread the MTA and the bounce listener
// share, since parsing went on for 100,000 lines. Shrunk input: thousands of " " lines
// between a few "Diagnostic-Code: smtp; 450" lines and an auto-reply.
test('a bounce of 100,000 short lines is parsed in bounded time', async () => {
  const head = 'From: MAILER-DAEMON@x.example\nTo: a@b.example\nSubject: Undelivered\n\n';
  for (const line of ['--b\n', 'hello world\n', ' \n']) {
    const c0 = process.cpuUsage();
    const parsed = await parseBounceMail(head + line.repeat(100_000));
    const ms = cpuMs(c0);
    assert.equal(parsed.kind, 'bounce');
    assert.ok(ms < 700, `${JSON.stringify(line)} × 100,000 took ${ms.toFixed(0)} ms of CPU`);
  }
});

test('boundInput keeps the first 10,000 lines, cut at a line end', () => {
  const cut = boundInput(Buffer.from('x\n'.repeat(50_000)));
  assert.equal(cut.toString().split('\n').length - 1, 10_000);
  assert.equal(cut.at(-1), 10);
  const small = Buffer.from('a\nb\n');
  assert.equal(boundInput(small), small);
});
