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

const LOCAL_CHAR = /[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]/;
const DOMAIN_CHAR = /[A-Za-z0-9.-]/;

// Scans around each "@" instead of running the address pattern over the whole text: the
// pattern alone backtracks badly on long dotted runs ("a.a.a.a..."), and bounce bodies
// are untrusted input.
function* addressesAround(text: string): Generator<FoundAddress> {
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > 0 && at - start < 64 && LOCAL_CHAR.test(text[start - 1])) start--;
    let end = at + 1;
    while (end < text.length && end - at < 255 && DOMAIN_CHAR.test(text[end])) end++;
    // A leading quote or backquote is quoting, not part of the local part ('user@host');
    // an X.400 attribute (SMTP=, RFC-822=) introduces the address (dda:SMTP=user@host).
    while (start < at && (text[start] === '.' || text[start] === "'" || text[start] === '`')) start++;
    const x400 = /^(?:smtp|rfc-?822)=/i.exec(text.slice(start, at));
    if (x400) start += x400[0].length;
    while (end > at + 1 && /[.-]/.test(text[end - 1])) end--;
    const candidate = text.slice(start, end);
    if (start === at || !SINGLE_ADDRESS.test(candidate)) continue;
    const domainAt = candidate.lastIndexOf('@');
    yield { address: candidate.slice(0, domainAt) + '@' + candidate.slice(domainAt + 1).toLowerCase(), index: start, end };
  }
}

/** Every address in a text, in order, domain lower-cased. */
export function findAddresses(text: string, limit = Infinity): FoundAddress[] {
  const out: FoundAddress[] = [];
  for (const found of addressesAround(text)) {
    out.push(found);
    if (out.length >= limit) break;
  }
  return out;
}

export function firstAddress(text: string): string | null {
  for (const found of addressesAround(text)) return found.address;
  return null;
}

/** Case-insensitive comparison key for an address. */
export function addressKey(address: string): string {
  return address.toLowerCase();
}
