/**
 * Email addresses (RFC 5321 mailbox syntax, practical subset): validation and the
 * normalized form used everywhere addresses are compared (delivery logs, quarantine,
 * duplicates). The domain is lower-cased and IDNA-encoded; the local part keeps its case
 * unless the caller asks otherwise, because RFC 5321 makes it case-sensitive.
 */
import { domainToASCII } from 'node:url';

export type AddressCheck =
  | { ok: true; address: string; local: string; domain: string }
  | { ok: false; reason: 'empty' | 'malformed'; detail: string };

// Dot-atom local part, or a quoted string without control characters.
const LOCAL_DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+)*$/;
const LOCAL_QUOTED = /^"([\x20\x21\x23-\x5B\x5D-\x7E]|\\[\x20-\x7E])*"$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Checks an address and returns its normalized form, or why it is not an address. */
export function checkAddress(input: string | null | undefined, options: { lowerLocal?: boolean } = {}): AddressCheck {
  const raw = (input ?? '').trim();
  if (!raw) return { ok: false, reason: 'empty', detail: 'no address' };
  const at = raw.lastIndexOf('@');
  if (at <= 0 || at === raw.length - 1) return { ok: false, reason: 'malformed', detail: `"${raw}" has no local part or no domain` };
  let local = raw.slice(0, at);
  const domainRaw = raw.slice(at + 1);
  if (local.length > 64) return { ok: false, reason: 'malformed', detail: 'local part longer than 64 characters' };
  if (!LOCAL_DOT_ATOM.test(local) && !LOCAL_QUOTED.test(local)) {
    return { ok: false, reason: 'malformed', detail: `"${raw}" has characters not allowed in a local part` };
  }
  // domainToASCII drops tab, CR and LF silently: a domain holding one is refused before.
  if (/[\x00-\x20\x7f]/.test(domainRaw)) return { ok: false, reason: 'malformed', detail: `"${domainRaw}" has spaces or control characters, which no domain has` };
  const domain = domainToASCII(domainRaw.toLowerCase());
  if (!domain || domain.length > 253) return { ok: false, reason: 'malformed', detail: `"${domainRaw}" is not a valid domain` };
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels[labels.length - 1])) {
    return { ok: false, reason: 'malformed', detail: `"${domainRaw}" is not a valid domain` };
  }
  if (options.lowerLocal) local = local.toLowerCase();
  return { ok: true, address: `${local}@${domain}`, local, domain };
}

/** Normalized form of an address that is already known to be valid (or best effort). */
export function normalizeAddress(input: string, options: { lowerLocal?: boolean } = {}): string {
  const r = checkAddress(input, options);
  return r.ok ? r.address : input.trim().toLowerCase();
}

/** The domain part of an address, lower-cased. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}
