/**
 * Builds one stream message for one recipient: the application's From, To, Cc, Reply-To,
 * Subject, HTML and text, its extra headers, and Estafeta's own headers, as a delivery's
 * messages have them (sender/compose.ts): a Message-ID naming the stream and the log, the
 * VERP return path and X-Estafeta-Log for bounce correlation, Feedback-ID, List-Unsubscribe
 * when the stream wants it, and an open pixel when it tracks. Bcc recipients get the same
 * headers, without a Bcc line. The content is the application's own (a stored template is
 * rendered before: templates.ts). When the stream tracks, the HTML's http(s) links lead
 * through signed redirects that carry their own URL (a stream keeps no table of links: each
 * message has its own), as a delivery's personalized links do; text links are left as written.
 *
 * Attachments: the text and HTML as mail/mime-build.ts builds them, in multipart/related
 * with the inline images (those with a cid) when there is HTML, in multipart/mixed with the
 * other attachments; each attachment's part is encoded once per message (attachments.ts).
 * A raw message keeps its own headers and body: Estafeta's headers go on top, and its
 * Message-ID and Date only when the message has none; no pixel (the body is not touched).
 */
import { boundaryFor, buildMessage, formatAddress, MimeBuildError } from '../mail/mime-build.ts';
import { logToken, messageIdFor, unsubscribeAddress, verpAddress } from '../mail/verp.ts';
import { clickToken, isHttpUrl, openToken } from '../mail/tracking-tokens.ts';
import { trackLiteralLinks } from '../mail/tracked-links.ts';
import type { CheckedMessage } from './message-input.ts';
import type { CheckedAttachment } from './attachments.ts';

export interface StreamComposeSettings {
  secret: string;
  publicUrl: string;
  /** Where the open pixel points, when the tracking routes have their own address. */
  trackingUrl?: string | null;
  bounceDomain: string;
}

export interface StreamComposeOptions {
  streamId: number;
  tracking: boolean;
  listUnsubscribe: boolean;
}

export interface ComposedStreamMessage {
  logId: number;
  rcptTo: string;
  mailFrom: string;
  messageId: string;
  body: Buffer;
}

export function composeStreamMessage(s: StreamComposeSettings, o: StreamComposeOptions, m: CheckedMessage, logId: number, rcptTo: string, now = Date.now()): ComposedStreamMessage {
  const input = m.input;
  const token = logToken(s.secret, logId);
  if (m.raw) return composeRaw(s, o, m, logId, rcptTo, token, now);
  const messageId = messageIdFor(s.secret, o.streamId, logId, m.from.domain);
  const headers: [string, string][] = [['From', formatAddress(m.from.name, m.from.address)]];
  if (input.to.length) headers.push(['To', input.to.join(', ')]);
  if (input.cc.length) headers.push(['Cc', input.cc.join(', ')]);
  if (input.replyTo) headers.push(['Reply-To', input.replyTo]);
  headers.push(['Subject', input.subject ?? ''], ['Date', new Date(now).toUTCString().replace('GMT', '+0000')], ['Message-ID', messageId]);
  if (o.listUnsubscribe) headers.push(...unsubscribeHeaders(s, logId, token));
  headers.push(['Feedback-ID', `${o.streamId}:estafeta`], ['X-Estafeta-Log', token]);
  for (const [name, value] of Object.entries(input.headers ?? {})) headers.push([name, value]);
  let html = input.html?.length ? input.html : null;
  if (html && o.tracking) html = tracked(s, o.streamId, logId, html);
  const text = input.text?.length ? input.text : null;
  const body = m.attachments.length ? withAttachments(headers, html, text, m.attachments) : buildMessage({ headers, html, text });
  return { logId, rcptTo, mailFrom: verpAddress(s.secret, logId, s.bounceDomain), messageId, body };
}

/** The HTML with its links through the click redirect and the open pixel. */
function tracked(s: StreamComposeSettings, streamId: number, logId: number, html: string): string {
  const base = (s.trackingUrl ?? s.publicUrl).replace(/\/$/, '');
  const attr = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  const linked = trackLiteralLinks(html, (link) => (isHttpUrl(link.url) ? attr(`${base}/t/c/${clickToken(s.secret, streamId, logId, link.id, link.url)}`) : null));
  return withPixel(linked, `${base}/t/o/${openToken(s.secret, streamId, logId)}`);
}

/** The open pixel, before </body> when there is one, else at the end. */
function withPixel(html: string, url: string): string {
  const img = `<img src="${url}" width="1" height="1" alt="" style="display:none">`;
  const at = html.toLowerCase().lastIndexOf('</body>');
  return at < 0 ? html + img : html.slice(0, at) + img + html.slice(at);
}

function unsubscribeHeaders(s: StreamComposeSettings, logId: number, token: string): [string, string][] {
  const url = `${s.publicUrl.replace(/\/$/, '')}/unsubscribe/${token}`;
  const out: [string, string][] = [['List-Unsubscribe', `<${url}>, <mailto:${unsubscribeAddress(s.secret, logId, s.bounceDomain)}?subject=unsubscribe>`]];
  if (url.startsWith('https://')) out.push(['List-Unsubscribe-Post', 'List-Unsubscribe=One-Click']);
  return out;
}

function composeRaw(s: StreamComposeSettings, o: StreamComposeOptions, m: CheckedMessage, logId: number, rcptTo: string, token: string, now: number): ComposedStreamMessage {
  const raw = m.raw!;
  const messageId = raw.messageId ?? messageIdFor(s.secret, o.streamId, logId, m.from.domain);
  const headers: [string, string][] = [];
  if (!raw.messageId) headers.push(['Message-ID', messageId]);
  if (!raw.hasDate) headers.push(['Date', new Date(now).toUTCString().replace('GMT', '+0000')]);
  if (o.listUnsubscribe && !raw.hasListUnsubscribe) headers.push(...unsubscribeHeaders(s, logId, token));
  headers.push(['Feedback-ID', `${o.streamId}:estafeta`], ['X-Estafeta-Log', token]);
  const head = Buffer.from(headers.map(([n, v]) => `${n}: ${v}\r\n`).join(''), 'latin1');
  return { logId, rcptTo, mailFrom: verpAddress(s.secret, logId, s.bounceDomain), messageId, body: Buffer.concat([head, raw.bytes]) };
}

const CRLF = '\r\n';
const MIME_VERSION = `MIME-Version: 1.0${CRLF}`;

/** The message with its attachments; see the header for the structure. */
function withAttachments(headers: [string, string][], html: string | null, text: string | null, attachments: CheckedAttachment[]): Buffer {
  // buildMessage without headers is the content entity after its MIME-Version line.
  const built = buildMessage({ headers: [], html, text }).toString('utf8');
  if (!built.startsWith(MIME_VERSION)) throw new MimeBuildError('the content part did not have the shape expected; the message was not built');
  let entity = built.slice(MIME_VERSION.length);
  const inline = html ? attachments.filter((a) => a.cid) : [];
  const others = attachments.filter((a) => !inline.includes(a));
  if (inline.length) entity = multipart('related; type="text/html"', [entity, ...inline.map((a) => a.part)]);
  if (others.length) entity = multipart('mixed', [entity, ...others.map((a) => a.part)]);
  const head = buildMessage({ headers, text: '' }).toString('utf8');
  // The headers as buildMessage encodes them, up to its MIME-Version line.
  const at = head.indexOf(MIME_VERSION);
  const out = head.slice(0, at + MIME_VERSION.length) + entity;
  return Buffer.from(out, 'utf8');
}

/** A multipart entity with a boundary found in none of its parts. */
function multipart(subtype: string, parts: string[]): string {
  const boundary = boundaryFor(parts.filter((p) => p.includes('--')));
  if (!boundary) throw new MimeBuildError('every MIME boundary drawn occurred in the content; the message was not built');
  const body = parts.map((p) => `--${boundary}${CRLF}${p}${p.endsWith(CRLF) ? '' : CRLF}`).join('');
  return `Content-Type: multipart/${subtype};${CRLF} boundary="${boundary}"${CRLF}${CRLF}${body}--${boundary}--${CRLF}`;
}
