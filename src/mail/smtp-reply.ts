/**
 * SMTP replies (RFC 5321 §4.2) and enhanced status codes (RFC 3463), as values.
 *
 * Parses the text a server answered, or the text a library reported, into
 * `{ code, enhanced, text }`. Does not decide what a reply means: see `qualification/`.
 */

export interface SmtpReply {
  /** Three-digit reply code, e.g. 550. 0 when the failure happened before any reply (DNS, connect). */
  code: number;
  /** RFC 3463 enhanced status code, e.g. "5.1.1", or null when the server sent none. */
  enhanced: string | null;
  /** The reply text without code and enhanced code, multi-line replies joined by spaces. */
  text: string;
}

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})\b/;

/** Parses "550-5.1.1 first line\r\n550 5.1.1 second line" or "550 5.1.1 text" into a reply. */
export function parseSmtpReply(raw: string, fallbackCode = 0): SmtpReply {
  // A lone CR ends a line too: kept inside the text, it would break log and report lines.
  const lines = raw.split(/\r\n?|\n/).map((l) => l.trim()).filter(Boolean);
  let code = fallbackCode;
  let enhanced: string | null = null;
  const texts: string[] = [];
  for (const line of lines) {
    // "s": a U+2028 in the text must not hide the code ("." stops at it otherwise).
    const m = /^(\d{3})(?:[ -]|$)(.*)$/s.exec(line);
    let rest = line;
    if (m) {
      code = Number(m[1]);
      rest = m[2].trim();
    }
    const e = ENHANCED.exec(rest);
    if (e) {
      enhanced ??= `${e[1]}.${Number(e[2])}.${Number(e[3])}`;
      rest = rest.slice(e[0].length).trim();
    }
    if (rest) texts.push(rest);
  }
  return { code, enhanced, text: texts.join(' ') };
}

/** Formats a reply the way logs and rules see it: "550 5.1.1 text". */
export function formatSmtpReply(reply: SmtpReply): string {
  return [reply.code || '', reply.enhanced ?? '', reply.text].filter((p) => p !== '').join(' ');
}

/** Reply class: 2 success, 4 transient failure, 5 permanent failure, 0 no reply. */
export function replyClass(reply: SmtpReply): 0 | 2 | 3 | 4 | 5 {
  const c = Math.floor(reply.code / 100);
  return c === 2 || c === 3 || c === 4 || c === 5 ? c : 0;
}

/** Extracts an enhanced status code found anywhere in a text (e.g. a DSN Status field). */
export function findEnhancedStatus(text: string): string | null {
  const m = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(text);
  return m ? `${m[1]}.${Number(m[2])}.${Number(m[3])}` : null;
}
