/**
 * The rules for the extra headers an operator adds to a delivery (e.g. X-Campaign): what a
 * name and a value may hold, which headers Estafeta keeps for itself, and how many there may
 * be. The delivery schema (create and update alike) and the MIME builder both use these, so
 * a header that would add a line, a recipient or a MIME part is refused in one place. It
 * checks; it does not encode (mime-build.ts does).
 */

/** A header name: printable US-ASCII without ":" or space (RFC 5322 ftext), bounded. */
export const HEADER_NAME = /^[!-9;-~]{1,76}$/;
export const MAX_HEADER_NAME = 76;
/** Long enough for any sensible value, short enough that name and value fit a 998-character line. */
export const MAX_HEADER_VALUE = 900;
export const MAX_EXTRA_HEADERS = 30;

// Control characters (C0, DEL, C1) but tab, and the Unicode line and paragraph separators,
// which some readers treat as line ends.
const VALUE_FORBIDDEN = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/;

const SET_BY_ESTAFETA = 'Estafeta sets it on every message';
const RESERVED: Record<string, string> = {
  from: "Estafeta sets it from the delivery's from field",
  sender: SET_BY_ESTAFETA,
  'reply-to': "Estafeta sets it from the delivery's replyTo field",
  subject: "Estafeta sets it from the delivery's subject field",
  to: 'it would change who receives the message',
  cc: 'it would change who receives the message',
  bcc: 'it would change who receives the message',
  'return-path': 'the receiving server sets it from the envelope',
  received: 'the servers on the way set it',
  date: SET_BY_ESTAFETA,
  'message-id': SET_BY_ESTAFETA,
  'mime-version': 'it would change the structure of the message',
  'dkim-signature': 'Estafeta signs the message itself',
  'domainkey-signature': 'Estafeta signs the message itself',
  'list-unsubscribe': "Estafeta sets it from the delivery's unsubscribeUrl field",
  'list-unsubscribe-post': SET_BY_ESTAFETA,
  'feedback-id': SET_BY_ESTAFETA,
};
const RESERVED_PREFIXES: [string, string][] = [
  ['content-', 'it would change the structure of the message'],
  ['resent-', 'it would change who receives the message'],
  ['arc-', 'it belongs to the receiving servers'],
  ['x-estafeta-', 'Estafeta uses it to correlate bounces'],
];

/** A name as it can be shown to a person: escaped (a name may hold line breaks) and cut short. */
function shown(name: string): string {
  return JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
}

/** Why a string cannot be a header name at all, or null when it can. */
export function headerNameProblem(name: string): string | null {
  if (name.length === 0) return 'a header name cannot be empty';
  if (name.length > MAX_HEADER_NAME) return `the header name ${shown(name)} is longer than ${MAX_HEADER_NAME} characters`;
  if (!HEADER_NAME.test(name)) return `the header name ${shown(name)} has characters a header name cannot have (only printable ASCII, without ":", spaces or line breaks)`;
  return null;
}

/** Why an extra header (name and value) is refused, or null when it may be added. */
export function extraHeaderProblem(name: string, value: string): string | null {
  const bad = headerNameProblem(name);
  if (bad) return bad;
  const lower = name.toLowerCase();
  const reason = RESERVED[lower] ?? RESERVED_PREFIXES.find(([p]) => lower.startsWith(p))?.[1];
  if (reason) return `the header ${shown(name)} cannot be set as an extra header: ${reason}`;
  if (value.length > MAX_HEADER_VALUE) return `the value of ${shown(name)} is longer than ${MAX_HEADER_VALUE} characters`;
  if (VALUE_FORBIDDEN.test(value)) return `the value of ${shown(name)} has a line break or another control character (only tab is allowed)`;
  return null;
}

/** Every problem of a set of extra headers: each header's, a name given twice, too many. */
export function extraHeadersProblems(headers: Record<string, string>): string[] {
  const problems: string[] = [];
  const names = Object.keys(headers);
  if (names.length > MAX_EXTRA_HEADERS) problems.push(`at most ${MAX_EXTRA_HEADERS} extra headers (${names.length} given)`);
  const seen = new Set<string>();
  // Bounded: past the cap, one message is enough.
  for (const name of names.slice(0, MAX_EXTRA_HEADERS)) {
    const p = extraHeaderProblem(name, headers[name]);
    if (p) problems.push(p);
    else if (seen.has(name.toLowerCase())) problems.push(`the header ${shown(name)} is given twice (names are case-insensitive)`);
    seen.add(name.toLowerCase());
  }
  return problems;
}

/**
 * The stored extra headers the rules allow, and why each other one is left out. The API
 * refuses such headers, but rows written before it checked updates (security review,
 * finding 3) may hold one; leaving it out, rather than refusing the delivery, keeps one old
 * row from stopping the sender for every delivery.
 */
export function readStoredHeaders(json: string): { headers: [string, string][]; refused: string[] } {
  const headers: [string, string][] = [];
  const refused: string[] = [];
  for (const [name, value] of Object.entries(JSON.parse(json) as Record<string, unknown>)) {
    const problem =
      headers.length >= MAX_EXTRA_HEADERS ? `more than ${MAX_EXTRA_HEADERS} extra headers` : typeof value === 'string' ? extraHeaderProblem(name, value) : `the value of ${JSON.stringify(name)} is not text`;
    if (problem) refused.push(problem);
    else headers.push([name, value as string]);
  }
  return { headers, refused };
}
