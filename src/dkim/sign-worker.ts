/**
 * A DKIM signing worker thread: receives a chunk of messages packed in one transferred
 * buffer with the keys to use, and answers each message's DKIM-Signature header lines.
 * Parsed private keys are kept by key id (a key's PEM never changes under the same id).
 * Runs only under SignPool; it has no other way in or out.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readlinkSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { dkimSignatures, type SigningKey } from './sign.ts';
import type { SignJob, SignReply } from './sign-pool.ts';

const parsed = new Map<number, KeyObject>();

lowerThreadPriority();
nameThread();

/**
 * Signing is batch work with slack (messages are signed well before their turn to be sent),
 * while the main thread runs the SMTP sessions and the database: when the cores are busy,
 * the main thread should win. On Linux a thread has its own nice value, set through its
 * thread id (/proc/thread-self names it). Elsewhere, or without permission, nothing changes.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (tid > 0) setPriority(tid, 10);
  } catch {
    /* not Linux, or not allowed: signing keeps the process's priority */
  }
}

/** Names the thread "estafeta-dkim", so that `top -H`, `ps -L` and the benchmark tell it apart. */
function nameThread(): void {
  try {
    writeFileSync('/proc/thread-self/comm', 'estafeta-dkim');
  } catch {
    /* not Linux: threads keep their name */
  }
}

function keyObject(id: number, pem: string): KeyObject {
  let k = parsed.get(id);
  if (!k) {
    if (parsed.size > 1000) parsed.clear();
    k = createPrivateKey(pem);
    parsed.set(id, k);
  }
  return k;
}

parentPort!.on('message', (job: SignJob) => {
  let reply: SignReply;
  try {
    const keys: SigningKey[] = job.keys.map((k) => ({ domain: k.domain, selector: k.selector, algorithm: k.algorithm, privateKey: keyObject(k.id, k.privateKey) }));
    const packed = Buffer.from(job.packed);
    const headers: string[] = [];
    for (let i = 0; i < job.offsets.length - 1; i++) {
      headers.push(dkimSignatures(packed.subarray(job.offsets[i], job.offsets[i + 1]), keys, { time: job.time, canonicalization: job.canonicalization }));
    }
    reply = { id: job.id, headers };
  } catch (err) {
    reply = { id: job.id, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
