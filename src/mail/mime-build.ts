/**
 * Builds the MIME bytes of a campaign message: text, HTML, or both as multipart/alternative,
 * with encoded headers. It uses nodemailer's encoders (quoted-printable, RFC 2047 words,
 * line folding) and assembles the parts itself, because nodemailer's stream-based
 * MailComposer costs about 0.7 ms per message, which is most of the CPU budget of a
 * thousand messages per second on two cores. Attachments and inline images are not
 * supported here: use nodemailer's MailComposer for those shapes.
 */
import { randomBytes } from 'node:crypto';
import * as qp from 'nodemailer/lib/qp';
import * as mimeFuncs from 'nodemailer/lib/mime-funcs';

export interface MessageParts {
  /** Header name and value pairs in order; values are raw text, encoded here as needed. */
  headers: [string, string][];
  text?: string | null;
  html?: string | null;
}

const CRLF = '\r\n';
// Boundaries must only never occur in the parts; a random prefix per process and a counter
// give that without asking the system for random bytes for every message.
const BOUNDARY_PREFIX = `--_est_${randomBytes(9).toString('hex')}_`;
let boundaryCount = 0;
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

/** Encodes one text part's body and returns its headers and content. */
function encodePart(content: string, mime: 'text/plain' | 'text/html'): string {
  const body = toCrlf(content);
  let cte: string;
  let encoded: string;
  if (isAscii(body) && !hasLongLine(body)) {
    cte = '7bit';
    encoded = body;
  } else {
    cte = 'quoted-printable';
    encoded = toCrlf(qp.wrap(qp.encode(body), 76));
  }
  return `Content-Type: ${mime}; charset=utf-8${CRLF}Content-Transfer-Encoding: ${cte}${CRLF}${CRLF}${encoded}`;
}

/** Builds the complete message (headers and body) as bytes with CRLF line ends. */
export function buildMessage(parts: MessageParts): Buffer {
  const head = parts.headers.map(([n, v]) => headerLine(n, v));
  head.push('MIME-Version: 1.0');
  const text = parts.text?.length ? parts.text : null;
  const html = parts.html?.length ? parts.html : null;
  let out: string;
  if (text && html) {
    const boundary = `${BOUNDARY_PREFIX}${(boundaryCount++).toString(36)}`;
    head.push(`Content-Type: multipart/alternative;${CRLF} boundary="${boundary}"`);
    out =
      head.join(CRLF) +
      CRLF +
      CRLF +
      `--${boundary}${CRLF}${encodePart(text, 'text/plain')}${CRLF}` +
      `--${boundary}${CRLF}${encodePart(html, 'text/html')}${CRLF}` +
      `--${boundary}--${CRLF}`;
  } else {
    const part = encodePart(html ?? text ?? '', html ? 'text/html' : 'text/plain');
    out = head.join(CRLF) + CRLF + part + (part.endsWith(CRLF) ? '' : CRLF);
  }
  // Encoded parts and headers are ASCII but for structured headers (an internationalized
  // address), and ASCII encoded as latin1 gives the same bytes with less work than UTF-8.
  return Buffer.from(out, Buffer.byteLength(out, 'utf8') === out.length ? 'latin1' : 'utf8');
}
