/**
 * The organizational domain of a name (DMARC, RFC 7489 §3.2): the public suffix plus one
 * label, from the Public Suffix List (tldts, which ships the list; private suffixes such as
 * github.io count, as DMARC verifiers count them). A name that is itself a suffix, a single
 * label or an IP address is its own organizational domain. Does not look anything up.
 */
import { getDomain } from 'tldts';

export function organizationalDomain(name: string): string {
  const d = name.toLowerCase().replace(/\.$/, '');
  return getDomain(d, { allowPrivateDomains: true }) ?? d;
}

/** Relaxed alignment (RFC 7489 §3.1): both names share one organizational domain. */
export function alignedRelaxed(a: string, b: string): boolean {
  return organizationalDomain(a) === organizationalDomain(b);
}
