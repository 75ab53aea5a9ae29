/**
 * A message's attachments, checked and encoded once per message (every recipient's copy
 * carries the same parts): base64 content decoded to count its bytes and refused when it is
 * not base64, the file name and Content-ID kept to one header line, the content type given
 * or guessed from the file name. Each becomes its MIME part (headers with nodemailer's
 * encoders, RFC 2231 for a non-ASCII file name; base64 body in 76-character lines); the
 * multipart structure around them is compose.ts's.
 */
import * as mimeFuncs from 'nodemailer/lib/mime-funcs';
import { SEND_LIMITS } from './limits.ts';

export interface AttachmentInput {
  filename: string;
  content: string | Buffer;
  contentType?: string;
  cid?: string;
}

export interface CheckedAttachment {
  filename: string;
  contentType: string;
  cid: string | null;
  size: number;
  /** The whole MIME part: its headers, a blank line, the base64 body with CRLF line ends. */
  part: string;
}

const CRLF = '\r\n';
const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*$/;
const CONTENT_TYPE = /^[a-z0-9][\w.+-]*\/[\w.+-]+$/i;
const CID = /^[^\s<>"()\\,;:[\]\x00-\x1f\x7f]{1,200}$/;

export function checkAttachments(list: AttachmentInput[]): { ok: true; list: CheckedAttachment[] } | { ok: false; problem: string } {
  if (list.length > SEND_LIMITS.attachments) return { ok: false, problem: `attachments: at most ${SEND_LIMITS.attachments} per message (${list.length} given)` };
  const out: CheckedAttachment[] = [];
  let total = 0;
  for (const [i, a] of list.entries()) {
    const where = `attachments[${i}] ("${a.filename.slice(0, 60)}")`;
    if (/[\x00-\x1f\x7f]/.test(a.filename)) return { ok: false, problem: `${where}: the file name has a control character or a line break` };
    if (a.cid !== undefined && !CID.test(a.cid)) return { ok: false, problem: `${where}: cid must be 1 to 200 characters without spaces, quotes or <>` };
    let bytes: Buffer;
    if (typeof a.content === 'string') {
      if (a.content.length % 4 === 1 || !BASE64.test(a.content)) return { ok: false, problem: `${where}: content is not base64` };
      bytes = Buffer.from(a.content, 'base64');
    } else bytes = a.content;
    total += bytes.length;
    if (total > SEND_LIMITS.attachmentBytes) return { ok: false, problem: `attachments: ${total} bytes or more decoded; the limit is ${SEND_LIMITS.attachmentBytes} bytes per message` };
    const contentType = (a.contentType ?? mimeFuncs.detectMimeType(a.filename) ?? 'application/octet-stream').toLowerCase();
    if (!CONTENT_TYPE.test(contentType)) return { ok: false, problem: `${where}: contentType "${contentType.slice(0, 60)}" is not a type/subtype` };
    out.push({ filename: a.filename, contentType, cid: a.cid ?? null, size: bytes.length, part: encodePart(a.filename, contentType, a.cid ?? null, bytes) });
  }
  return { ok: true, list: out };
}

function encodePart(filename: string, contentType: string, cid: string | null, bytes: Buffer): string {
  const head = [
    `Content-Type: ${mimeFuncs.buildHeaderValue({ value: contentType, params: { name: filename } })}`,
    `Content-Transfer-Encoding: base64`,
    `Content-Disposition: ${mimeFuncs.buildHeaderValue({ value: cid ? 'inline' : 'attachment', params: { filename } })}`,
    ...(cid ? [`Content-ID: <${cid}>`] : []),
  ].map((line) => (line.length < 76 ? line : mimeFuncs.foldLines(line, 76).replace(/\r?\n/g, CRLF)));
  const b64 = bytes.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return head.join(CRLF) + CRLF + CRLF + lines.join(CRLF) + CRLF;
}
