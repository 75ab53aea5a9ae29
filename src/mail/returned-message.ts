/**
 * Splits the text of a non-standard bounce into the notice written by the reporting MTA
 * and the copy of the original message (or of its headers) that many MTAs paste below
 * a separator line ("--- Below this line is a copy of the message.", "Original message
 * follows.", "------ This is a copy of the message, including all the headers. ------").
 *
 * Works on text only, with separators written as general patterns rather than per MTA.
 * Does not parse the notice itself (see bounce-text.ts).
 */
import { parseHeaderSection, toLf, type Fields } from './report-fields.ts';

export interface SplitBounceText {
  /** The reporting MTA's own words, quote marks of a forwarded bounce removed. */
  notice: string;
  /** Header fields of the returned original message, when a copy follows the notice. */
  originalHeaders: Fields | null;
}

// Lines that announce the returned message. Each is matched against one trimmed line.
const SEPARATORS: RegExp[] = [
  /^-*\s*(?:this is a copy of (?:the|your) message|below this line is a copy of the message|enclosed is a copy of the message)/i,
  /^-+\s*(?:original message|returned message|unsent message|undelivered message|original mail|message header|the header of the original message)/i,
  /^(?:original message follows|message headers follow|original message:?$|original mail as follows|unsent message follows)/i,
  /^(?:included is a copy of the message header|below is a copy of the original message|the original message headers? (?:is|are|was|were) (?:included|attached|as follows)|the header of the original message is following)/i,
  /^-{3,}\s*(?:original|returned|unsent|forwarded) message\b/i,
  // Smail: "|------------------------- Message text follows: ------------------------|".
  /^\|?-{3,}\s*message text follows/i,
  // "The first 50 lines of your original message follow:" (several MTAs and gateways).
  /^(?:the )?first \d+ lines of (?:your|the) (?:original )?message (?:follow|are)/i,
];

// Header names that only a real header block has; "To:" or "Subject:" alone do not count,
// since notices quote those ("Your message To: ... Subject: ...").
const TRANSPORT_HEADER = /^(?:Return-Path|Received|DKIM-Signature|Message-I[Dd]|X-[A-Za-z0-9-]+|Delivered-To|Authentication-Results|MIME-Version|Content-Type|ARC-[A-Za-z-]+)\s*:/i;
const ANY_HEADER = /^[A-Za-z][A-Za-z0-9-]*\s*:/;

/** Removes one level of "> " quoting when most non-empty lines are quoted (forwarded bounces). */
function unquote(lines: string[]): string[] {
  const nonEmpty = lines.filter((l) => l.trim() !== '');
  const quoted = nonEmpty.filter((l) => /^>(?!>>)/.test(l));
  if (nonEmpty.length === 0 || quoted.length < nonEmpty.length * 0.5) return lines;
  return lines.map((l) => (/^>(?!>>)/.test(l) ? l.replace(/^> ?/, '') : l));
}

/** Index of the first line of a header block that starts at `from` (three header lines in a row). */
function headerBlockAt(lines: string[], from: number): boolean {
  if (!TRANSPORT_HEADER.test(lines[from])) return false;
  let headers = 0;
  for (let i = from; i < lines.length && i < from + 12; i++) {
    const line = lines[i];
    if (line.trim() === '') break;
    if (ANY_HEADER.test(line)) headers++;
    else if (!/^[ \t]/.test(line)) return false;
  }
  return headers >= 3;
}

function originalFrom(lines: string[], start: number): Fields | null {
  for (let i = start; i < lines.length && i < start + 8; i++) {
    if (ANY_HEADER.test(lines[i]) || /^From /.test(lines[i])) {
      const fields = parseHeaderSection(lines.slice(i).join('\n'));
      return fields.size > 0 ? fields : null;
    }
  }
  return null;
}

/** Splits a bounce text into notice and returned original. */
export function splitReturnedMessage(text: string): SplitBounceText {
  const lines = unquote(toLf(text).split('\n'));
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i].trim();
    if (trimmed !== '' && SEPARATORS.some((re) => re.test(trimmed))) {
      return { notice: lines.slice(0, i).join('\n'), originalHeaders: originalFrom(lines, i + 1) };
    }
    // A header block pasted without a separator line. Never at the very top, where a
    // notice pasted under its own headers would be cut to nothing.
    if (i > 2 && lines[i - 1].trim() === '' && headerBlockAt(lines, i)) {
      return { notice: lines.slice(0, i).join('\n'), originalHeaders: originalFrom(lines, i) };
    }
  }
  return { notice: lines.join('\n'), originalHeaders: null };
}
