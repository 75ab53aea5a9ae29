/**
 * Signs a message with DKIM (RFC 6376), one DKIM-Signature per key: rsa-sha256, or
 * ed25519-sha256 as RFC 8463 defines it (Ed25519 over the SHA-256 of the header data).
 * Pure and synchronous, so it runs the same on the main thread and in the signing workers.
 *
 * Which headers: From, To, Subject, Date, Message-ID, MIME-Version, Content-Type,
 * Content-Transfer-Encoding, List-Unsubscribe, List-Unsubscribe-Post, Reply-To and
 * Feedback-ID, every instance present, and From once more than present ("oversigning"), so
 * that a From added on the way breaks the signature instead of hiding behind it.
 * Not here: which keys sign (the key cache), running off the main thread (the pool).
 */
import { createHash, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { relaxedBody, relaxedHeader, simpleBody, splitMessage, type HeaderField } from './canonicalize.ts';

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';
export type Canonicalization = 'relaxed/relaxed' | 'relaxed/simple';

export interface SigningKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKey: KeyObject;
}

export interface SignOptions {
  canonicalization?: Canonicalization;
  /** Signing time in seconds (t=); defaults to now. */
  time?: number;
}

export const SIGNED_HEADERS = ['from', 'to', 'subject', 'date', 'message-id', 'mime-version', 'content-type', 'content-transfer-encoding', 'list-unsubscribe', 'list-unsubscribe-post', 'reply-to', 'feedback-id'];

const CASED: Record<string, string> = { 'message-id': 'Message-ID', 'mime-version': 'MIME-Version', 'feedback-id': 'Feedback-ID', 'list-unsubscribe-post': 'List-Unsubscribe-Post' };
const casedNames = new Map<string, string>();
const cased = (k: string) => {
  let c = casedNames.get(k);
  if (c === undefined) casedNames.set(k, (c = CASED[k] ?? k.replace(/(^|-)([a-z])/g, (_m, d: string, ch: string) => d + ch.toUpperCase())));
  return c;
};

/** The DKIM-Signature header lines (each ending in CRLF) to put on top of the message. */
export function dkimSignatures(message: Buffer, keys: SigningKey[], options: SignOptions = {}): string {
  if (!keys.length) return '';
  const canon = options.canonicalization ?? 'relaxed/relaxed';
  const time = options.time ?? Math.floor(Date.now() / 1000);
  const { fields, bodyStart } = splitMessage(message);
  const body = canon === 'relaxed/relaxed' ? relaxedBody(message, bodyStart) : simpleBody(message, bodyStart);
  const bh = createHash('sha256').update(body).digest('base64');
  const names = headerList(fields);
  const signed = signedHeaderData(fields, names);
  let out = '';
  for (const key of keys) out += signatureHeader(key, canon, time, bh, names, signed);
  return out;
}

/** The message with its DKIM-Signature headers prepended. */
export function signMessage(message: Buffer, keys: SigningKey[], options: SignOptions = {}): Buffer {
  const headers = dkimSignatures(message, keys, options);
  return headers ? Buffer.concat([Buffer.from(headers, 'latin1'), message]) : message;
}

/** h=: each signed header once per instance present, then From once more. */
function headerList(fields: HeaderField[]): string[] {
  const count = new Map<string, number>();
  for (const f of fields) count.set(f.key, (count.get(f.key) ?? 0) + 1);
  const names: string[] = [];
  for (const name of SIGNED_HEADERS) for (let i = count.get(name) ?? 0; i > 0; i--) names.push(name);
  names.push('from');
  return names;
}

/** The canonicalized header fields h= names, each instance taken from the bottom up. */
function signedHeaderData(fields: HeaderField[], names: string[]): string {
  const used = new Map<string, number>();
  let data = '';
  for (const name of names) {
    const skip = used.get(name) ?? 0;
    used.set(name, skip + 1);
    let seen = 0;
    for (let i = fields.length - 1; i >= 0; i--) {
      if (fields[i].key !== name) continue;
      if (seen++ === skip) {
        data += relaxedHeader(fields[i].raw) + '\r\n';
        break;
      }
    }
    // A name with no instance left signs the empty string: that is the oversigning.
  }
  return data;
}

function signatureHeader(key: SigningKey, canon: Canonicalization, time: number, bh: string, names: string[], signed: string): string {
  const h = fold(names.map(cased).join(':'), ':', 60);
  const head = `DKIM-Signature: v=1; a=${key.algorithm}; c=${canon}; d=${key.domain}; s=${key.selector};\r\n t=${time}; h=${h};\r\n bh=${bh};\r\n b=`;
  const data = signed + relaxedHeader(head);
  const b =
    key.algorithm === 'ed25519-sha256'
      ? cryptoSign(null, createHash('sha256').update(data, 'latin1').digest(), key.privateKey)
      : cryptoSign('sha256', Buffer.from(data, 'latin1'), key.privateKey);
  return head + fold(b.toString('base64'), '', 72) + '\r\n';
}

/** Folds a long tag value for readability; FWS inside these tags is ignored by verifiers. */
function fold(value: string, after: string, width: number): string {
  if (value.length <= width) return value;
  if (!after) {
    let out = value.slice(0, width);
    for (let i = width; i < value.length; i += width) out += '\r\n ' + value.slice(i, i + width);
    return out;
  }
  const parts = value.split(after);
  const lines: string[] = [];
  let line = '';
  for (const p of parts) {
    const next = line ? `${line}${after}${p}` : p;
    if (line && next.length > width) {
      lines.push(line + after);
      line = p;
    } else line = next;
  }
  lines.push(line);
  return lines.join('\r\n ');
}
