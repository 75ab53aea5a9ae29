/**
 * normalizeFailureText: the deduplication key of the delivery-log qualification table
 * (Campaign's broadLogMsg). Variable parts of a failure text (addresses, IPs, dates,
 * queue ids, hex, numbers) are replaced so that the same failure seen for many
 * recipients gives one key; the reply code and enhanced status are kept.
 *
 * Text only; it does not classify.
 */

const PLACEHOLDER = '#xxx#';

// Order matters: longer, more specific shapes first, so a date is not eaten as numbers.
const REPLACEMENTS: Array<[RegExp, string]> = [
  // Email addresses, bracketed or not (also "local@domain" inside quotes).
  [/"?[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+"?@(?:[A-Za-z0-9-]+\.)+[A-Za-z0-9-]+/g, '*'],
  // ISO 8601 timestamps and RFC 5322 dates.
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?/g, PLACEHOLDER],
  [/\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s+)?\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\s+\d{2,4}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?(?:\s*[+-]\d{4})?(?:\s*\([A-Z]{2,5}\))?/gi, PLACEHOLDER],
  [/\b\d{1,2}:\d{2}(?::\d{2})?\b/g, PLACEHOLDER],
  // IPv4 (with an optional port) and IPv6.
  [/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g, PLACEHOLDER],
  [/\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}\b/gi, PLACEHOLDER],
  // UUIDs and long hex.
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, PLACEHOLDER],
  [/\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b/gi, PLACEHOLDER],
  // Ids: tokens of 8+ characters that mix letters and digits (queue ids, MX host names
  // like BN8NAM12FT053.eop-nam12.prod.protection.outlook.com, Gmail tracking tokens).
  [/\b(?=[\w.-]*\d)(?=[\w.-]*[A-Za-z])[\w][\w.-]{7,}/g, PLACEHOLDER],
];

const STATUS = /^[245]\.\d{1,3}\.\d{1,3}$/;

// The address and id patterns cost time quadratic in the length of a run of word
// characters (a 40 KB diagnostic took 4.6 s). Callers keep 500 characters of the key, so
// the head of the text is enough; this bounds the work to a few milliseconds.
const MAX_TEXT = 1_000;

/** The dedup key of a failure text: stable across recipients, readable by people. */
export function normalizeFailureText(text: string): string {
  let out = text.slice(0, MAX_TEXT).replace(/\s+/g, ' ').trim();
  for (const [re, by] of REPLACEMENTS) out = out.replace(re, by);
  // Remaining numbers, except a leading reply code ("550", "550-") and status codes.
  out = out.replace(/(?<![\w.#])\d+(?:\.\d+)*(?![\w#])/g, (n, offset: number) => {
    if (STATUS.test(n)) return n;
    if (offset === 0 && /^[2-5]\d\d$/.test(n)) return n;
    return PLACEHOLDER;
  });
  out = out.replace(/#xxx#(?:[\s.:,;-]*#xxx#)+/g, PLACEHOLDER);
  return out.replace(/\s+/g, ' ').trim();
}
