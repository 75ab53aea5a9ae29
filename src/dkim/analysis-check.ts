/**
 * The delivery analysis's DKIM check: which key will sign the From domain's messages (its
 * own, or its organizational domain's, both aligned for DMARC), and whether that key's public
 * record is published in DNS. No key, or a key receivers cannot find, is a warning, and an
 * error for a bulk delivery (Gmail, Yahoo and Microsoft require DKIM from bulk senders); a
 * DNS lookup without an answer says it could not check. Typed structurally so that the MTA
 * does not depend on the analysis stage.
 */
import { domainOf } from '../mail/address.ts';
import type { Lookup } from '../lib/dns-lookup.ts';
import type { DkimKeyCache } from './key-cache.ts';
import { dnsRecordName, importDkimKey } from './keys.ts';

export interface CheckOutput {
  add(level: 'info' | 'warning' | 'error', code: string, message: string): void;
}

export interface DkimCheckOptions {
  /** To see each key's record published; without it the records are not looked up. */
  dns?: { txt(name: string): Promise<Lookup<string>> };
  /** Recipients from which a delivery is bulk and a missing DKIM is an error. */
  bulkRecipients?: () => number;
}

export function dkimAnalysisCheck(keys: DkimKeyCache, options: DkimCheckOptions = {}) {
  return async (d: { fromAddress: string; recipients?: number }, out: CheckOutput): Promise<void> => {
    const domain = domainOf(d.fromAddress);
    const bulk = options.bulkRecipients !== undefined && (d.recipients ?? 0) >= options.bulkRecipients();
    const unmet = bulk ? 'error' : 'warning';
    const forBulk = bulk ? ` This delivery has ${d.recipients} recipients: bulk sending, so confirmation waits for it.` : '';
    const signing = await keys.keysAligned(domain);
    if (!signing.length) {
      out.add(
        unmet,
        'dkim-no-key',
        `No active DKIM key for ${domain}: its messages will be sent unsigned, and Gmail, Yahoo and Microsoft require DKIM from bulk senders. Create one (estafeta dkim create ${domain} --selector s1) and publish its DNS record.${forBulk}`,
      );
      return;
    }
    const signer = signing[0].domain === domain ? domain : `${signing[0].domain} (the organizational domain of ${domain}: aligned)`;
    if (!options.dns) return void out.add('info', 'dkim-aligned', `DKIM: messages are signed with d=${signer}, selector ${signing.map((k) => k.selector).join(', ')}.`);
    const checked = await Promise.all(signing.map(async (k) => ({ k, found: await options.dns!.txt(dnsRecordName(k.selector, k.domain)) })));
    const published = checked.filter(({ k, found }) => found.ok && found.records.some((r) => publicKeyOf(r) === importDkimKey(k.privateKey, k.algorithm).publicKey));
    const unknown = checked.filter(({ found }) => !found.ok && !found.missing);
    if (published.length) {
      out.add('info', 'dkim-aligned', `DKIM: messages are signed with d=${signer}; the public key is published at ${published.map(({ k }) => dnsRecordName(k.selector, k.domain)).join(', ')}.`);
    } else if (unknown.length) {
      out.add('warning', 'dkim-unchecked', `Could not check the DKIM record ${unknown.map(({ k }) => dnsRecordName(k.selector, k.domain)).join(', ')}: the DNS gave no answer (${(unknown[0].found as { code: string }).code}). Messages are signed with d=${signer}; analyze again when DNS answers.`);
    } else {
      const names = checked.map(({ k }) => dnsRecordName(k.selector, k.domain)).join(', ');
      out.add(unmet, 'dkim-not-published', `DKIM key for ${signer} is not published: ${names} has no TXT record with this key, so receivers cannot verify the signature. Publish the record that "estafeta dkim show ${checked[0].k.id}" gives.${forBulk}`);
    }
  };
}

/** The p= value of a DKIM key record (spaces removed), or null. */
function publicKeyOf(record: string): string | null {
  const m = /(?:^|;)\s*p\s*=\s*([^;]*)/i.exec(record);
  return m ? m[1].replace(/\s+/g, '') : null;
}
