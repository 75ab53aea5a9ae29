/** SubmissionBatcher: messages finished together go in one send call, each gets its own result in order; a failed call fails each of them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SubmissionBatcher } from './batcher.ts';
import type { MessageInput, MessageResult } from '../streams/index.ts';

const input = (i: number) => ({ stream: 1, from: 'a@app.example', to: [`r${i}@example.com`], cc: [], bcc: [], subject: String(i), text: 'x' }) as MessageInput;

test('one send call for the messages that arrive together, each answered with its own result', async () => {
  const calls: number[] = [];
  const b = new SubmissionBatcher({ send: async (inputs: MessageInput[]) => (calls.push(inputs.length), inputs.map((m) => ({ ok: false, error: { code: 'X', message: m.subject } }) as MessageResult)) }, { max: 3, waitMs: 5 });
  const results = await Promise.all([0, 1, 2, 3, 4].map((i) => b.send(input(i))));
  assert.deepEqual(calls, [3, 2], 'full at 3, the rest after the wait');
  assert.deepEqual(results.map((r) => (r.ok ? null : r.error.message)), ['0', '1', '2', '3', '4']);
});

test('a send call that throws fails every message of its batch', async () => {
  const b = new SubmissionBatcher({ send: async () => Promise.reject(new Error('database gone')) });
  const out = await Promise.allSettled([b.send(input(0)), b.send(input(1))]);
  assert.deepEqual(out.map((o) => o.status), ['rejected', 'rejected']);
});
