/**
 * Builds one stream message for one recipient: the application's From, To, Cc, Reply-To,
 * Subject, HTML and text, its extra headers, and Estafeta's own headers, as a delivery's
 * messages have them (sender/compose.ts): a Message-ID naming the stream and the log, the
 * VERP return path and X-Estafeta-Log for bounce correlation, Feedback-ID, List-Unsubscribe
 * when the stream wants it, and an open pixel when it tracks. Bcc recipients get the same
 * headers, without a Bcc line. The content is the application's own: nothing is rendered as
 * a template. Links are not rewritten for click tracking (yet).
 */
import { buildMessage, formatAddress } from '../mail/mime-build.ts';
import { logToken, messageIdFor, unsubscribeAddress, verpAddress } from '../mail/verp.ts';
import { openToken } from '../mail/tracking-tokens.ts';
import type { CheckedMessage } from './message-input.ts';

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
  const messageId = messageIdFor(s.secret, o.streamId, logId, m.from.domain);
  const headers: [string, string][] = [['From', formatAddress(m.from.name, m.from.address)]];
  if (input.to.length) headers.push(['To', input.to.join(', ')]);
  if (input.cc.length) headers.push(['Cc', input.cc.join(', ')]);
  if (input.replyTo) headers.push(['Reply-To', input.replyTo]);
  headers.push(['Subject', input.subject], ['Date', new Date(now).toUTCString().replace('GMT', '+0000')], ['Message-ID', messageId]);
  if (o.listUnsubscribe) {
    const url = `${s.publicUrl.replace(/\/$/, '')}/unsubscribe/${token}`;
    headers.push(['List-Unsubscribe', `<${url}>, <mailto:${unsubscribeAddress(s.secret, logId, s.bounceDomain)}?subject=unsubscribe>`]);
    if (url.startsWith('https://')) headers.push(['List-Unsubscribe-Post', 'List-Unsubscribe=One-Click']);
  }
  headers.push(['Feedback-ID', `${o.streamId}:estafeta`], ['X-Estafeta-Log', token]);
  for (const [name, value] of Object.entries(input.headers ?? {})) headers.push([name, value]);
  let html = input.html?.length ? input.html : null;
  if (html && o.tracking) html = withPixel(html, `${(s.trackingUrl ?? s.publicUrl).replace(/\/$/, '')}/t/o/${openToken(s.secret, o.streamId, logId)}`);
  const body = buildMessage({ headers, html, text: input.text?.length ? input.text : null });
  return { logId, rcptTo, mailFrom: verpAddress(s.secret, logId, s.bounceDomain), messageId, body };
}

/** The open pixel, before </body> when there is one, else at the end. */
function withPixel(html: string, url: string): string {
  const img = `<img src="${url}" width="1" height="1" alt="" style="display:none">`;
  const at = html.toLowerCase().lastIndexOf('</body>');
  return at < 0 ? html + img : html.slice(0, at) + img + html.slice(at);
}
