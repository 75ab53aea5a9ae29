/**
 * A DKIM signing worker thread: receives a chunk of messages packed in one transferred
 * buffer with the keys to use, and answers each message's DKIM-Signature header lines.
 * Parsed private keys are kept by key id (a key's PEM never changes under the same id).
 * Runs only under SignPool; it has no other way in or out.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { dkimSignatures, type SigningKey } from './sign.ts';
import type { SignJob, SignReply } from './sign-pool.ts';

const parsed = new Map<number, KeyObject>();

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
