/**
 * DKIM-signs built messages with every active key of their From domain (several during a
 * key rotation), or of its organizational domain when it has none of its own, off the main thread in a SignPool; the sender calls it just before it
 * hands a batch to the spool. If
 * the workers fail, it signs on the main thread rather than send unsigned mail, and says so
 * in the log. A domain without an active key sends unsigned; the delivery analysis warns
 * about that beforehand (dkimAnalysisCheck).
 */
import { availableParallelism } from 'node:os';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { Db } from '../db/index.ts';
import type { Logger } from '../lib/logger.ts';
import { DkimKeyCache } from './key-cache.ts';
import { SignPool, type PoolKey } from './sign-pool.ts';
import { dkimSignatures, type Canonicalization } from './sign.ts';
import { withCrlf } from './canonicalize.ts';

export interface DkimSignerOptions {
  db: Db;
  logger: Logger;
  /** The instance's secret, which opens the sealed private keys. */
  secret: string;
  /** Signing threads; 0 signs on the main thread. Default: one per core, at most 4. */
  workers?: number;
  canonicalization?: Canonicalization;
}

export class DkimSigner {
  readonly keys: DkimKeyCache;
  private readonly pool: SignPool | null;
  private readonly canonicalization: Canonicalization;
  private readonly parsed = new Map<number, KeyObject>();
  private warned = false;

  constructor(private readonly o: DkimSignerOptions) {
    this.keys = new DkimKeyCache(o.db.kysely, o.secret);
    const workers = o.workers ?? Math.min(4, availableParallelism());
    this.pool = workers > 0 ? new SignPool(workers) : null;
    this.canonicalization = o.canonicalization ?? 'relaxed/relaxed';
  }

  /** The messages with their DKIM-Signature headers on top (unchanged without a key). */
  async sign<M extends { body: Buffer }>(messages: M[], fromDomain: string): Promise<M[]> {
    const keys = await this.keys.keysAligned(fromDomain);
    if (!keys.length || !messages.length) return messages;
    const bodies = messages.map((m) => withCrlf(m.body));
    const headers = await this.signatures(bodies, keys);
    return messages.map((m, i) => ({ ...m, body: Buffer.concat([Buffer.from(headers[i], 'latin1'), bodies[i]]) }));
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }

  private async signatures(bodies: Buffer[], keys: PoolKey[]): Promise<string[]> {
    const options = { time: Math.floor(Date.now() / 1000), canonicalization: this.canonicalization };
    if (this.pool) {
      try {
        return await this.pool.sign(bodies, keys, options);
      } catch (err) {
        if (!this.warned) this.o.logger.warn({ err }, 'DKIM signing workers failed; signing on the main thread');
        this.warned = true;
      }
    }
    const signing = keys.map((k) => ({ domain: k.domain, selector: k.selector, algorithm: k.algorithm, privateKey: this.keyObject(k) }));
    return bodies.map((b) => dkimSignatures(b, signing, options));
  }

  private keyObject(k: PoolKey): KeyObject {
    let o = this.parsed.get(k.id);
    if (!o) this.parsed.set(k.id, (o = createPrivateKey(k.privateKey)));
    return o;
  }
}
