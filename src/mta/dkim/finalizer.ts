/**
 * The MTA's last step before a message is spooled: DKIM-signs it with every active key of
 * its From domain (several during a key rotation), off the main thread in a SignPool. If
 * the workers fail, it signs on the main thread rather than send unsigned mail, and says so
 * in the log. A domain without an active key sends unsigned; the delivery analysis warns
 * about that beforehand (dkimAnalysisCheck).
 */
import { availableParallelism } from 'node:os';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { Db } from '../../db/index.ts';
import type { Logger } from '../../lib/logger.ts';
import type { InjectMessage } from '../spool.ts';
import { DkimKeyCache } from './key-cache.ts';
import { SignPool, type PoolKey } from './sign-pool.ts';
import { dkimSignatures, type Canonicalization } from './sign.ts';
import { withCrlf } from './canonicalize.ts';

export interface DkimFinalizerOptions {
  db: Db;
  logger: Logger;
  /** The instance's secret, which opens the sealed private keys. */
  secret: string;
  /** Signing threads; 0 signs on the main thread. Default: one per core, at most 4. */
  workers?: number;
  canonicalization?: Canonicalization;
}

export class DkimFinalizer {
  readonly keys: DkimKeyCache;
  private readonly pool: SignPool | null;
  private readonly canonicalization: Canonicalization;
  private readonly parsed = new Map<number, KeyObject>();
  private warned = false;

  constructor(private readonly o: DkimFinalizerOptions) {
    this.keys = new DkimKeyCache(o.db.kysely, o.secret);
    const workers = o.workers ?? Math.min(4, availableParallelism());
    this.pool = workers > 0 ? new SignPool(workers) : null;
    this.canonicalization = o.canonicalization ?? 'relaxed/relaxed';
  }

  /** The messages with their DKIM-Signature headers on top (unchanged without a key). */
  async finalize(messages: InjectMessage[], fromDomain: string): Promise<InjectMessage[]> {
    const keys = await this.keys.keysFor(fromDomain);
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
