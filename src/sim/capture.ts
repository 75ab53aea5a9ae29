/**
 * Reads a message from the SMTP DATA stream keeping only what the simulator needs: the
 * header block (for the Message-ID, Subject and the DSN's text/rfc822-headers part), the
 * size, and the whole message only when asked (kept messages, complaint reports).
 *
 * Does not parse MIME: at thousands of messages per second a full parser would be the
 * bottleneck, and nothing here looks at bodies.
 */
import type { Readable } from 'node:stream';

export interface CapturedMessage {
  /** The header block as received, without the blank line that ends it. */
  headers: string;
  size: number;
  /** The whole message, when `keepBody` was set. */
  raw: Buffer | null;
}

/** Headers longer than this are cut: enough for any real header block, bounded for abuse. */
const MAX_HEADER_BYTES = 64 * 1024;

export function captureMessage(stream: Readable, keepBody: boolean, maxBody = 10 * 1024 * 1024): Promise<CapturedMessage> {
  return new Promise((resolve, reject) => {
    const head: Buffer[] = [];
    let headBytes = 0;
    let headers: string | null = null;
    const body: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (keepBody && size <= maxBody) body.push(chunk);
      if (headers !== null) return;
      head.push(chunk);
      headBytes += chunk.length;
      const joined = head.length === 1 ? chunk : Buffer.concat(head);
      const end = headerEnd(joined);
      if (end >= 0) headers = joined.subarray(0, end).toString('latin1');
      else if (headBytes >= MAX_HEADER_BYTES) headers = joined.subarray(0, MAX_HEADER_BYTES).toString('latin1');
      else if (head.length > 1) head.splice(0, head.length, joined);
    });
    stream.on('error', reject);
    stream.on('end', () => {
      if (headers === null) headers = Buffer.concat(head).toString('latin1').replace(/\r?\n$/, '');
      resolve({ headers, size, raw: keepBody ? Buffer.concat(body) : null });
    });
  });
}

/** Offset of the empty line ending the header block (CRLF or bare LF), or -1. */
function headerEnd(buf: Buffer): number {
  if (buf.length >= 2 && (buf[0] === 0x0d || buf[0] === 0x0a)) return 0;
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf;
  return lf;
}

/** The value of the first header named `name` (case-insensitive), unfolded, or null. */
export function headerValue(headers: string, name: string): string | null {
  const re = new RegExp(`^${name.replace(/[-]/g, '\\-')}[ \\t]*:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im');
  const m = re.exec(headers);
  return m ? m[1].replace(/\r?\n[ \t]+/g, ' ').trim() : null;
}
