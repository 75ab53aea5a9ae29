/**
 * Finds the links of a delivery's content templates and puts a placeholder where each
 * tracked link's URL goes, once per delivery (the sender fills the placeholders per
 * recipient with signed redirect URLs), and adds the open pixel to the HTML part. Works on
 * the template source, before personalization, so the links are the delivery's own
 * (Campaign's tracked URLs): a link's URL may itself contain personalization.
 *
 * Tracked: `<a href="http(s)://…">` in the HTML part, unless the tag says
 * `data-estafeta-track="off"` (the attribute is removed); in the text part, bare http(s)
 * URLs when the delivery asks for it. Not tracked: a link whose URL starts with a template
 * expression (`{{ unsubscribeUrl }}`, `{{ url }}`: what it leads to is unknown until sent),
 * mailto: and other schemes. Not an HTML parser: it reads `<a>` start tags and their text.
 *
 * trackLiteralLinks does the same on HTML that is not a template (a stream message, whose
 * content the application rendered): each tracked link's URL is replaced at once.
 */

export interface FoundLink {
  id: number;
  /** The URL as written in the template (entities decoded); may contain personalization. */
  url: string;
  /** The link's visible text (tags removed), or its image's alt text; at most 200 characters. */
  label: string;
  part: 'html' | 'text';
  /** Order among the tracked links of its part, from 1. */
  position: number;
  personalized: boolean;
}

export interface TrackedContent {
  html: string | null;
  text: string | null;
  links: FoundLink[];
}

/** The variable each placeholder reads: `estafetaLink<id>`, and the pixel's URL. */
export const linkVariable = (id: number) => `estafetaLink${id}`;
export const PIXEL_VARIABLE = 'estafetaOpenPixel';

// At most this many tracked links per delivery: a content with more is unusual and each
// costs a signature per message.
export const MAX_TRACKED_LINKS = 200;

const A_TAG = /<a\b([^>]*)>([\s\S]*?)<\/a\s*>/gi;
const HREF = /(\shref\s*=\s*)("([^"]*)"|'([^']*)'|([^\s"'>]+))/i;
const TRACK_OFF = /\sdata-estafeta-track\s*=\s*("off"|'off'|off\b)/i;
const TEXT_URL = /https?:\/\/(?:[^\s<>"'{]|\{\{[^}]*\}\}|\{%[^%]*%\})+/g;

const isTrackable = (url: string) => /^https?:\/\/[^\s/]/i.test(url);
const isPersonalized = (url: string) => url.includes('{{') || url.includes('{%');

export function trackContent(html: string | null, text: string | null, options: { textLinks: boolean }): TrackedContent {
  const links: FoundLink[] = [];
  const add = (url: string, label: string, part: 'html' | 'text') => {
    if (links.length >= MAX_TRACKED_LINKS) return null;
    const position = links.filter((l) => l.part === part).length + 1;
    const link: FoundLink = { id: links.length + 1, url, label: label.slice(0, 200), part, position, personalized: isPersonalized(url) };
    links.push(link);
    return link;
  };
  const placeholder = (link: FoundLink) => `{{ ${linkVariable(link.id)} }}`;
  const outHtml = html === null ? null : addPixel(html.replace(A_TAG, (whole, attrs: string, inner: string) => rewriteAnchor(whole, attrs, inner, add, placeholder)));
  let outText = text;
  if (text !== null && options.textLinks) {
    outText = text.replace(TEXT_URL, (raw) => {
      const url = raw.replace(/[.,;:!?)\]]+$/, '');
      const link = add(url, url, 'text');
      return link ? `{{ ${linkVariable(link.id)} }}${raw.slice(url.length)}` : raw;
    });
  }
  return { html: outHtml, text: outText, links };
}

/**
 * The HTML with each link trackContent would track pointing to `hrefFor(link)` instead (a
 * value for a double-quoted attribute), or left as it is where that gives null. The links
 * are numbered from 1 in their order; the `data-estafeta-track="off"` attributes are removed.
 */
export function trackLiteralLinks(html: string, hrefFor: (link: FoundLink) => string | null): string {
  let count = 0;
  const add = (url: string, label: string): FoundLink | null => {
    if (count >= MAX_TRACKED_LINKS) return null;
    count++;
    return { id: count, url, label: label.slice(0, 200), part: 'html', position: count, personalized: false };
  };
  return html.replace(A_TAG, (whole, attrs: string, inner: string) => rewriteAnchor(whole, attrs, inner, add, hrefFor));
}

function rewriteAnchor(whole: string, attrs: string, inner: string, add: (url: string, label: string, part: 'html') => FoundLink | null, hrefFor: (link: FoundLink) => string | null): string {
  if (TRACK_OFF.test(attrs)) return whole.replace(attrs, attrs.replace(TRACK_OFF, ''));
  const m = HREF.exec(attrs);
  if (!m) return whole;
  const url = decodeEntities((m[3] ?? m[4] ?? m[5] ?? '').trim());
  if (!isTrackable(url)) return whole;
  const link = add(url, labelOf(inner), 'html');
  const href = link && hrefFor(link);
  if (href === null || href === undefined) return whole;
  const rewritten = attrs.replace(HREF, `${m[1]}"${href}"`);
  return `<a${rewritten}>${inner}</a>`;
}

function labelOf(inner: string): string {
  const text = decodeEntities(inner.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
  if (text) return text;
  const alt = /\salt\s*=\s*("([^"]*)"|'([^']*)')/i.exec(inner);
  return alt ? decodeEntities(alt[2] ?? alt[3] ?? '').trim() : '';
}

function addPixel(html: string): string {
  const pixel = `<img src="{{ ${PIXEL_VARIABLE} }}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`;
  const end = html.search(/<\/body\s*>(?![\s\S]*<\/body\s*>)/i);
  return end >= 0 ? `${html.slice(0, end)}${pixel}${html.slice(end)}` : `${html}${pixel}`;
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6});/gi, (all, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : all;
    }
    return NAMED[e.toLowerCase()] ?? all;
  });
}
