/**
 * Builds the MIME bytes of a campaign message: text, HTML, or both as multipart/alternative,
 * with encoded headers. It uses nodemailer's encoders (quoted-printable, RFC 2047 words,
 * line folding) and assembles the parts itself, because nodemailer's stream-based
 * MailComposer costs about 0.7 ms per message, which is most of the CPU budget of a
 * thousand messages per second on two cores. Attachments and inline images are not
 * supported here: use nodemailer's MailComposer for those shapes.
 *
 * Personalization data must not change the structure: a header name that is not a name is
 * refused (an exception: callers validate names first, see extra-headers.ts), line breaks in
 * header values become a space, multipart boundaries are random per message and checked
 * against the parts, and no line of a part in a multipart message begins with "--".
 */
import { randomFillSync } from 'node:crypto';
import * as qp from 'nodemailer/lib/qp';
import * as mimeFuncs from 'nodemailer/lib/mime-funcs';
import { headerNameProblem } from './extra-headers.ts';

export interface MessageParts {
  /** Header name and value pairs in order; values are raw text, encoded here as needed. */
  headers: [string, string][];
  text?: string | null;
  html?: string | null;
}

const CRLF = '\r\n';
// A boundary anyone could predict (a per-process prefix and a counter, as before) let a
// recipient field end the text part and start an HTML part of its own. So 128 random bits
// per message, taken from a pool filled in bulk: one system call per 1,024 messages. The
// "=_" cannot occur in quoted-printable text, whose "=" is always followed by hex or a break.
const POOL = Buffer.allocUnsafe(16 * 1024);
let poolAt = POOL.length;
function newBoundary(): string {
  if (poolAt === POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  poolAt += 16;
  return `=_est_${POOL.toString('hex', poolAt - 16, poolAt)}`;
}

/**
 * A boundary whose delimiter ("--" and the boundary) occurs in none of the encoded parts
 * (RFC 2046), or null after 8 draws that all did. With 128 random bits none occurs by
 * chance; the check makes it certain even for content that guessed one. The builder passes
 * only the parts that have "--" at all (most have none). `draw` is for tests.
 */
export function boundaryFor(parts: string[], draw: () => string = newBoundary): string | null {
  for (let n = 0; n < 8; n++) {
    const b = draw();
    if (!parts.some((p) => p.includes(`--${b}`))) return b;
  }
  return null;
}

/** A message that cannot be built safely; callers validate first, so this means a bug or old data. */
export class MimeBuildError extends Error {}

// Headers whose values are addresses or tokens must not be RFC 2047-encoded as a whole.
const STRUCTURED = new Set(['from', 'to', 'cc', 'reply-to', 'sender', 'message-id', 'in-reply-to', 'references', 'list-unsubscribe', 'list-unsubscribe-post', 'date', 'content-type', 'mime-version', 'feedback-id']);

/** "Name" <address>, with the name quoted or encoded as RFC 5322 and 2047 require. */
export function formatAddress(name: string | null | undefined, address: string): string {
  const n = (name ?? '').replace(/[\r\n]+/g, ' ').trim();
  if (!n) return address;
  let display: string;
  if (/[^\x20-\x7e]/.test(n)) display = mimeFuncs.encodeWord(n, 'Q', 52);
  else if (/^[\w !#$%&'*+\-/=?^`{|}~]+$/.test(n)) display = n;
  else display = mimeFuncs.quoteString(n);
  return `${display} <${address}>`;
}

function headerLine(name: string, value: string): string {
  // Defence in depth: a name with a line break would start a header line of its own.
  const bad = headerNameProblem(name);
  if (bad) throw new MimeBuildError(`${bad}; the message was not built`);
  const clean = /[\r\n]/.test(value) ? value.replace(/[\r\n]+\s*/g, ' ') : value;
  const encoded = STRUCTURED.has(name.toLowerCase()) || !/[^\x20-\x7e\t]/.test(clean) ? clean : mimeFuncs.encodeWords(clean, 'Q', 52, true);
  const line = `${name}: ${encoded}`;
  // foldLines leaves a line shorter than its width as it is.
  return line.length < 76 ? line : mimeFuncs.foldLines(line, 76).replace(/\r?\n/g, CRLF);
}

/**
 * The text with CRLF line ends. Text that has them already (templates are normalized when a
 * delivery is prepared) comes back as it is after a native search per line, without the
 * copy a replace makes.
 */
export function toCrlf(s: string): string {
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) {
    if (i === 0 || s.charCodeAt(i - 1) !== 13) return s.replace(/\r?\n/g, CRLF);
  }
  return s;
}

/** Whether every character is US-ASCII without DEL (7bit-safe, given short lines). */
function isAscii(s: string): boolean {
  // One native pass: a character past 0x7f takes more than one byte in UTF-8.
  return Buffer.byteLength(s, 'utf8') === s.length && s.indexOf('\x7f') === -1;
}

/** Whether a CRLF-delimited line is longer than SMTP's 998 characters. */
function hasLongLine(s: string): boolean {
  if (s.length <= 998) return false;
  let start = 0;
  for (;;) {
    const i = s.indexOf(CRLF, start);
    if ((i === -1 ? s.length : i) - start > 998) return true;
    if (i === -1) return false;
    start = i + 2;
  }
}

const NO_DASHES = 0;
const DASHES = 1;
const DASH_LINE = 2;
/** Whether the text has "--" (DASHES), and at the start of a line (DASH_LINE; after a bare CR too). */
function dashes(s: string): number {
  // Most parts have no "--" at all: one search decides.
  let found = NO_DASHES;
  for (let i = s.indexOf('--'); i !== -1; i = s.indexOf('--', i + 1)) {
    if (i === 0 || s.charCodeAt(i - 1) === 10 || s.charCodeAt(i - 1) === 13) return DASH_LINE;
    found = DASHES;
  }
  return found;
}

const hex2 = (c: string) => `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
/**
 * nodemailer's qp.encode for US-ASCII text without DEL, with the same output, by native
 * searches and replaces instead of its loop over every byte in JavaScript. Encoded: "=",
 * control characters but tab, CR and LF, and a space or tab before a line end.
 */
export function encodeAsciiQp(s: string): string {
  const q = s.includes('=') ? s.replace(/=/g, '=3D') : s;
  // The replace below tries a look-ahead at every space; native searches first rule it out.
  const spaceAtEnd = /[ \t]$/.test(q) || q.includes(' \r') || q.includes(' \n') || q.includes('\t\r') || q.includes('\t\n');
  if (!spaceAtEnd && !/[\x00-\x08\x0b\x0c\x0e-\x1f]/.test(q)) return q;
  return q.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]|[ \t](?=[\r\n]|$)/g, hex2);
}

/**
 * Encodes one text part's body: its Content-Transfer-Encoding, the encoded text (kept apart
 * from the part's headers so the boundary check searches a flat string, without the copy a
 * concatenated one costs), and whether that text has "--" at all. In a multipart message
 * (inPart) no line of the result begins with "--", whatever the content: 7bit passes lines
 * through as they are, so a part with such a line is quoted-printable instead, and there
 * every "-" followed by "-" is written =2D, because a soft line break may fall before any
 * character and quoted-printable leaves "-" as it is.
 */
function encodeBody(content: string, inPart: boolean): [cte: string, encoded: string, hasDashes: boolean] {
  const body = toCrlf(content);
  const ascii = isAscii(body);
  if (ascii && !hasLongLine(body)) {
    const d = inPart ? dashes(body) : NO_DASHES;
    if (d !== DASH_LINE) return ['7bit', body, d === DASHES];
  }
  let q = ascii ? encodeAsciiQp(body) : qp.encode(body);
  if (inPart && q.includes('--')) q = q.replace(/-(?=-)/g, '=2D');
  // In a part, no "--" is left; a single part has no boundary to check.
  return ['quoted-printable', toCrlf(qp.wrap(q, 76)), false];
}

function partHead(mime: 'text/plain' | 'text/html', cte: string): string {
  return `Content-Type: ${mime}; charset=utf-8${CRLF}Content-Transfer-Encoding: ${cte}${CRLF}${CRLF}`;
}

/** Builds the complete message (headers and body) as bytes with CRLF line ends. */
export function buildMessage(parts: MessageParts): Buffer {
  const head = parts.headers.map(([n, v]) => headerLine(n, v));
  head.push('MIME-Version: 1.0');
  const text = parts.text?.length ? parts.text : null;
  const html = parts.html?.length ? parts.html : null;
  let out: string;
  if (text && html) {
    const [textCte, textBody, textDashes] = encodeBody(text, true);
    const [htmlCte, htmlBody, htmlDashes] = encodeBody(html, true);
    // The part headers are constant and hold no boundary: the bodies are what to search.
    const dashed = textDashes ? (htmlDashes ? [textBody, htmlBody] : [textBody]) : htmlDashes ? [htmlBody] : [];
    const boundary = boundaryFor(dashed);
    if (!boundary) throw new MimeBuildError('every MIME boundary drawn occurred in the content; the message was not built');
    head.push(`Content-Type: multipart/alternative;${CRLF} boundary="${boundary}"`);
    out =
      head.join(CRLF) +
      CRLF +
      CRLF +
      `--${boundary}${CRLF}${partHead('text/plain', textCte)}${textBody}${CRLF}` +
      `--${boundary}${CRLF}${partHead('text/html', htmlCte)}${htmlBody}${CRLF}` +
      `--${boundary}--${CRLF}`;
  } else {
    const [cte, body] = encodeBody(html ?? text ?? '', false);
    const part = partHead(html ? 'text/html' : 'text/plain', cte) + body;
    out = head.join(CRLF) + CRLF + part + (part.endsWith(CRLF) ? '' : CRLF);
  }
  // Encoded parts and headers are ASCII but for structured headers (an internationalized
  // address), and ASCII encoded as latin1 gives the same bytes with less work than UTF-8.
  return Buffer.from(out, Buffer.byteLength(out, 'utf8') === out.length ? 'latin1' : 'utf8');
}
