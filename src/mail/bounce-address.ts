/**
 * Email addresses as they appear inside bounce mails: in DSN fields ("rfc822; a@b"),
 * angle brackets, quotes, mailto: links and free text.
 *
 * Finds and normalizes addresses (domain lower-cased, local part kept as written). Does not
 * validate addresses against RFC 5321 and does not resolve display names.
 */

/** One address found in a text, with where it starts (to rank it by its surroundings). */
export interface FoundAddress {
  address: string;
  index: number;
  end: number;
}

// Local part without quotes (quoted local parts are rare in bounces), then a dotted domain
// whose last label has letters (so "1.2.3.4" is never taken for a domain).
const ADDRESS_SOURCE =
  "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*" +
  '@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?\\.)+[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]';

/** Returns a fresh global regex each time: callers iterate with exec(). */
export function addressPattern(): RegExp {
  return new RegExp(ADDRESS_SOURCE, 'g');
}

const SINGLE_ADDRESS = new RegExp(`^${ADDRESS_SOURCE}$`);
// What a DSN field may hold that the strict pattern refuses: quoted local parts and local
// parts with consecutive dots, both seen from real MTAs.
const LENIENT_ADDRESS = /^(?:"[^"\r\n]+"|[^\s@<>"(),;:\[\]]+)@(?:[A-Za-z0-9-]+\.)+[A-Za-z0-9-]+$/;

/**
 * Normalizes one address value: strips an address-type prefix ("rfc822;"), "mailto:",
 * angle brackets, quotes and spaces, and lower-cases the domain. Returns null when what
 * remains is not an address.
 */
export function normalizeAddress(value: string | null | undefined): string | null {
  if (!value) return null;
  let v = value.trim();
  const typed = /^[A-Za-z0-9-]+\s*;\s*(.*)$/s.exec(v);
  if (typed && !v.startsWith('<')) v = typed[1];
  v = v.replace(/^mailto:/i, '').trim();
  const angle = /<([^<>]*@[^<>]*)>/.exec(v);
  if (angle) v = angle[1];
  if (!/^"[^"]+"@/.test(v)) v = v.replace(/^["'\s]+|["'\s.,;:]+$/g, '');
  else v = v.replace(/[\s.,;:]+$/g, '');
  if (!SINGLE_ADDRESS.test(v) && !LENIENT_ADDRESS.test(v)) {
    const found = firstAddress(v);
    if (!found) return null;
    v = found;
  }
  const at = v.lastIndexOf('@');
  return v.slice(0, at) + '@' + v.slice(at + 1).toLowerCase();
}

/** Every address in a text, in order, normalized. */
export function findAddresses(text: string): FoundAddress[] {
  const out: FoundAddress[] = [];
  const re = addressPattern();
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const address = normalizeAddress(m[0]);
    if (address) out.push({ address, index: m.index, end: m.index + m[0].length });
  }
  return out;
}

export function firstAddress(text: string): string | null {
  const m = addressPattern().exec(text);
  if (!m) return null;
  const at = m[0].lastIndexOf('@');
  return m[0].slice(0, at) + '@' + m[0].slice(at + 1).toLowerCase();
}

/** Case-insensitive comparison key for an address. */
export function addressKey(address: string): string {
  return address.toLowerCase();
}

/** Addresses that report on mail rather than receive it (used to rank candidates down). */
export function isSystemAddress(address: string): boolean {
  return /^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon|bounces?|no-?reply|daemon)@/i.test(address);
}
