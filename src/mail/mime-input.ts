/**
 * Turns raw bounce bytes into the pieces the bounce parser reads: top-level headers,
 * notice text, report parts (delivery-status, feedback-report) and the returned original
 * message's headers. Uses postal-mime for MIME; fixes old Mac line ends first.
 *
 * Does not interpret any report: see dsn.ts, arf.ts and bounce-text.ts.
 */
import PostalMime from 'postal-mime';
import { parseHeaderSection, type Fields } from './report-fields.ts';

export interface MimeParts {
  headers: Fields;
  subject: string;
  /** The From header as an address when it has one, else its raw text. */
  from: string;
  fromName: string;
  /** Text of the inline text parts (HTML turned to text when there is no plain part). */
  text: string;
  deliveryStatus: string[];
  feedbackReports: string[];
  /** Header section of each returned message (message/rfc822 or text/rfc822-headers). */
  returned: Fields[];
  /** Full text of returned parts, for formats that put the report in a returned message. */
  returnedText: string[];
  /** The undecoded body, a last resort when the MIME structure hides the notice. */
  rawBody: string;
}

/**
 * Turns lone CR line ends (old Mac mail) into LF, byte by byte so no charset is touched,
 * and drops what some mail stores put before the headers: blank lines and an mbox
 * "From " separator line.
 */
export function normalizeLineEnds(raw: Buffer | string): Buffer {
  let buf = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  let start = 0;
  while (start < buf.length && (buf[start] === 32 || buf[start] === 9 || buf[start] === 10 || buf[start] === 13)) start++;
  if (buf.subarray(start, start + 5).toString('latin1') === 'From ') {
    const eol = buf.indexOf(10, start);
    const eolCr = buf.indexOf(13, start);
    const end = eol === -1 ? eolCr : eolCr === -1 ? eol : Math.min(eol, eolCr);
    start = end === -1 ? buf.length : end + 1;
    if (buf[start] === 10 && buf[start - 1] === 13) start++;
  }
  if (start > 0) buf = buf.subarray(start);
  if (!buf.includes(13)) return buf;
  const out = Buffer.allocUnsafe(buf.length);
  for (let i = 0; i < buf.length; i++) {
    out[i] = buf[i] === 13 && buf[i + 1] !== 10 ? 10 : buf[i];
  }
  return out;
}

const ENTITIES: Record<string, string> = { nbsp: ' ', lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** A plain rendering of HTML, enough to find addresses and replies in an HTML-only bounce. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<(?:br|\/p|\/div|\/tr|\/li|\/h\d|\/table|hr)[^>]*>/gi, '\n')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(#x?[0-9a-f]+|[a-z]+);/gi, (whole, name: string) => {
      if (name.startsWith('#')) {
        const code = name[1].toLowerCase() === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    })
    .replace(/[ \t]+/g, ' ')
    .replace(/\n\s*\n\s*\n+/g, '\n\n');
}

function asText(content: ArrayBuffer | Uint8Array | string): string {
  if (typeof content === 'string') return content;
  return Buffer.from(content instanceof Uint8Array ? content : new Uint8Array(content)).toString('utf8');
}

/**
 * The raw body of a multipart mail whose boundary is missing or never used (anonymized or
 * hand-edited bounces), or null when the structure is sound. Reading such a body as text
 * keeps the notice and any report fields in it.
 */
function brokenMultipart(contentType: string, buf: Buffer, noText: boolean): string | null {
  if (!/^\s*multipart\//i.test(contentType)) return null;
  // A nested part with a broken header can hide every text part while the top boundary
  // is fine: then the raw body is still better than nothing.
  if (noText) return rawBody(buf);
  const raw = buf.toString('utf8');
  const boundary = /boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  const delimiter = boundary ? `--${boundary[1] ?? boundary[2]}` : null;
  if (delimiter && raw.includes(`\n${delimiter}`)) return null;
  return rawBody(buf);
}

function rawBody(buf: Buffer): string {
  const raw = buf.toString('utf8');
  const bodyStart = raw.search(/\r?\n\r?\n/);
  return bodyStart === -1 ? '' : raw.slice(bodyStart).replace(/^\s+/, '');
}

// The notice, the report parts and the returned headers come first in every bounce format;
// what follows is the returned body. Parsing stops there so that a huge or hostile mail
// costs a bounded time. postal-mime and the text readers spend 10 to 25 µs a line, so
// 100,000 lines took 1 to 2.4 s of the thread the MTA shares (found by the fuzzer);
// 10,000 lines hold the notice, a DSN for hundreds of recipients and the returned headers.
const MAX_BYTES = 2 * 1024 * 1024;
const MAX_LINES = 10_000;

/** Cuts a mail after MAX_BYTES or MAX_LINES, at a line end. */
export function boundInput(buf: Buffer): Buffer {
  let end = Math.min(buf.length, MAX_BYTES);
  let lines = 0;
  for (let i = buf.indexOf(10); i !== -1 && i < end; i = buf.indexOf(10, i + 1)) {
    if (++lines >= MAX_LINES) {
      end = i + 1;
      break;
    }
  }
  if (end >= buf.length) return buf;
  const lastNewline = buf.lastIndexOf(10, end - 1);
  return buf.subarray(0, lastNewline > 0 ? lastNewline + 1 : end);
}

/** Parses the MIME structure. Throws when postal-mime cannot parse the input at all. */
export async function readMime(raw: Buffer | string): Promise<MimeParts> {
  const buf = boundInput(normalizeLineEnds(raw));
  const email = await PostalMime.parse(buf, { attachmentEncoding: 'utf8', forceRfc822Attachments: true });
  const headers: Fields = new Map();
  for (const h of email.headers) {
    const list = headers.get(h.key);
    if (list) list.push(h.value);
    else headers.set(h.key, [h.value]);
  }
  const from = email.from && 'address' in email.from && email.from.address ? email.from.address : (headers.get('from')?.[0] ?? '');
  const fromName = email.from?.name ?? '';
  let text = email.text ?? '';
  if (text.trim() === '' && email.html) text = htmlToText(email.html);
  const broken = brokenMultipart(headers.get('content-type')?.[0] ?? '', buf, text.trim() === '');
  if (broken !== null) text = broken;
  const parts: MimeParts = {
    headers,
    subject: email.subject ?? '',
    from,
    fromName,
    text,
    deliveryStatus: [],
    feedbackReports: [],
    returned: [],
    returnedText: [],
    rawBody: rawBody(buf),
  };
  for (const a of email.attachments) {
    const type = a.mimeType.toLowerCase();
    if (type === 'message/delivery-status' || type === 'message/global-delivery-status') {
      parts.deliveryStatus.push(asText(a.content));
    } else if (type === 'message/feedback-report') {
      parts.feedbackReports.push(asText(a.content));
    } else if (/^(?:message\/rfc822|message\/global|text\/rfc822-headers|message\/global-headers|message\/partial)$/.test(type)) {
      const content = asText(a.content);
      parts.returned.push(parseHeaderSection(content));
      parts.returnedText.push(content);
    } else if (type === 'text/plain' && a.disposition === 'attachment' && text.trim() === '') {
      // Some gateways attach the notice itself as a file.
      parts.text = asText(a.content);
      text = parts.text;
    }
  }
  return parts;
}
