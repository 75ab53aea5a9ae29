/**
 * Turns a delivery and one recipient into the message bytes: personalization rendered,
 * headers (From, To, Reply-To, Subject, Date, a unique Message-ID, List-Unsubscribe with
 * one-click, X-Estafeta-Log for bounce correlation, the delivery's extra headers), and the
 * MIME body. Templates are compiled once per delivery version (PreparedDelivery).
 *
 * With tracking on (the default), each http(s) link of the HTML part (and of the text part
 * when asked) leads to a signed redirect URL on the public URL, and the HTML part carries an
 * open pixel: mail/tracked-links.ts finds them once per delivery, this fills them per message.
 */
import type { DeliveryRow } from '../deliveries/index.ts';
import { compileTemplate, type CompiledTemplate } from '../deliveries/index.ts';
import { formatAddress, buildMessage, toCrlf } from '../mail/mime-build.ts';
import { logToken, messageIdFor, unsubscribeAddress, verpAddress } from '../mail/verp.ts';
import { domainOf } from '../mail/address.ts';
import { readStoredHeaders } from '../mail/extra-headers.ts';
import { linkVariable, PIXEL_VARIABLE, trackContent, type FoundLink } from '../mail/tracked-links.ts';
import { clickToken, isHttpUrl, openToken } from '../mail/tracking-tokens.ts';

export interface ComposeSettings {
  secret: string;
  publicUrl: string;
  /** Base of the pixel, tracked-link and unsubscribe URLs when they are served apart (tracking.listen); else publicUrl. */
  trackingUrl?: string;
  bounceDomain: string;
}

export interface PreparedDelivery {
  id: number;
  version: number;
  fromHeader: string;
  fromDomain: string;
  replyTo: string | null;
  subject: CompiledTemplate;
  html: CompiledTemplate | null;
  text: CompiledTemplate | null;
  unsubscribe: CompiledTemplate | null;
  headers: [string, string][];
  /** Stored extra headers left out, with why: rows written before update checked them. */
  refusedHeaders: string[];
  validUntil: number;
  /** The tracked links (to record for the delivery and fill per message); empty without tracking. */
  links: FoundLink[];
  /** Per personalized link, its URL's template. */
  linkUrls: Map<number, CompiledTemplate>;
  tracking: boolean;
}

export function prepareDelivery(row: DeliveryRow): PreparedDelivery {
  const extra = readStoredHeaders(row.headers);
  const tracking = Number(row.tracking ?? 1) === 1;
  const tracked = tracking ? trackContent(row.html, row.text, { textLinks: Number(row.track_text_links ?? 0) === 1 }) : { html: row.html, text: row.text, links: [] };
  const linkUrls = new Map(tracked.links.filter((l) => l.personalized).map((l) => [l.id, compileTemplate('text', l.url)] as const));
  return {
    id: Number(row.id),
    version: row.content_version,
    fromHeader: formatAddress(row.from_name, row.from_address),
    fromDomain: domainOf(row.from_address),
    replyTo: row.reply_to,
    subject: compileTemplate('subject', row.subject),
    // With CRLF line ends in the templates, rendered parts rarely need converting per message.
    html: tracked.html ? compileTemplate('html', toCrlf(tracked.html)) : null,
    text: tracked.text ? compileTemplate('text', toCrlf(tracked.text)) : null,
    unsubscribe: row.unsubscribe_url ? compileTemplate('text', row.unsubscribe_url) : null,
    headers: extra.headers,
    refusedHeaders: extra.refused,
    validUntil: Number(row.valid_until ?? Date.now() + Number(row.validity_ms)),
    links: tracked.links,
    linkUrls,
    tracking,
  };
}

export interface ComposedMessage {
  logId: number;
  rcptTo: string;
  mailFrom: string;
  messageId: string;
  body: Buffer;
}

export function composeMessage(d: PreparedDelivery, settings: ComposeSettings, logId: number, address: string, data: Record<string, unknown>): ComposedMessage {
  const token = logToken(settings.secret, logId);
  const ownUrl = `${(settings.trackingUrl ?? settings.publicUrl).replace(/\/$/, '')}/unsubscribe/${token}`;
  const scope: Record<string, unknown> = { ...data, email: address, unsubscribeUrl: ownUrl };
  if (d.unsubscribe) scope.unsubscribeUrl = d.unsubscribe.render(scope);
  const unsubscribeUrl = String(scope.unsubscribeUrl);
  if (d.tracking) addTrackingUrls(d, settings, logId, scope);
  const messageId = messageIdFor(settings.secret, d.id, logId, d.fromDomain);
  const headers: [string, string][] = [
    ['From', d.fromHeader],
    ['To', address],
  ];
  if (d.replyTo) headers.push(['Reply-To', d.replyTo]);
  headers.push(
    ['Subject', d.subject.render(scope)],
    ['Date', new Date().toUTCString().replace('GMT', '+0000')],
    ['Message-ID', messageId],
    ['List-Unsubscribe', `<${unsubscribeUrl}>, <mailto:${unsubscribeAddress(settings.secret, logId, settings.bounceDomain)}?subject=unsubscribe>`],
  );
  // RFC 8058 one-click needs an HTTPS URI that accepts the POST.
  if (unsubscribeUrl.startsWith('https://')) headers.push(['List-Unsubscribe-Post', 'List-Unsubscribe=One-Click']);
  headers.push(['Feedback-ID', `${d.id}:estafeta`], ['X-Estafeta-Log', token], ...d.headers);
  const body = buildMessage({ headers, html: d.html?.render(scope) ?? null, text: d.text?.render(scope) ?? null });
  return { logId, rcptTo: address, mailFrom: verpAddress(settings.secret, logId, settings.bounceDomain), messageId, body };
}

/** The pixel's and each tracked link's URL for one message, as template variables. */
function addTrackingUrls(d: PreparedDelivery, settings: ComposeSettings, logId: number, scope: Record<string, unknown>): void {
  const base = (settings.trackingUrl ?? settings.publicUrl).replace(/\/$/, '');
  scope[PIXEL_VARIABLE] = `${base}/t/o/${openToken(settings.secret, d.id, logId)}`;
  for (const link of d.links) {
    const template = d.linkUrls.get(link.id);
    if (!template) {
      scope[linkVariable(link.id)] = `${base}/t/c/${clickToken(settings.secret, d.id, logId, link.id)}`;
      continue;
    }
    // A personalized URL travels signed in its link; one that renders to no usable URL is
    // left as rendered rather than tracked.
    const url = template.render(scope).trim();
    scope[linkVariable(link.id)] = isHttpUrl(url) ? `${base}/t/c/${clickToken(settings.secret, d.id, logId, link.id, url)}` : url;
  }
}
