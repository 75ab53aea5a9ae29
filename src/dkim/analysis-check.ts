/**
 * The delivery analysis's DKIM check: a warning when the From domain has no active key, as
 * its messages would go out unsigned (large mailbox providers require DKIM from bulk
 * senders). Typed structurally so that the MTA does not depend on the analysis stage.
 */
import { domainOf } from '../mail/address.ts';
import type { DkimKeyCache } from './key-cache.ts';

export interface CheckOutput {
  add(level: 'warning', code: string, message: string): void;
}

export function dkimAnalysisCheck(keys: DkimKeyCache) {
  return async (d: { fromAddress: string }, out: CheckOutput): Promise<void> => {
    const domain = domainOf(d.fromAddress);
    if ((await keys.keysFor(domain)).length) return;
    out.add(
      'warning',
      'dkim-no-key',
      `No active DKIM key for ${domain}: its messages will be sent unsigned, and Gmail, Yahoo and Microsoft require DKIM from bulk senders. Create one (estafeta dkim create ${domain} --selector s1) and publish its DNS record.`,
    );
  };
}
