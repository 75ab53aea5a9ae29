/**
 * Reads the human-readable notice of a non-standard bounce (Exim, qmail, Sendmail,
 * Exchange, Gmail, Yahoo, Lotus Notes, ...) with general heuristics: find the lines that
 * name a failed address, then the SMTP reply, status code and explanation near each one.
 *
 * No per-MTA templates: the same rules must hold for bounces never seen before. Does not
 * split off the returned original (returned-message.ts) and does not classify (qualification/).
 */
import { addressKey, findAddresses, normalizeAddress, type FoundAddress } from './addresses-in-text.ts';
import { findFailureStatus, findReplyInText, findSmtpStage, type SmtpStage } from './reply-text.ts';
import type { SmtpReply } from './smtp-reply.ts';

export interface TextRecipient {
  recipient: string;
  action: 'failed' | 'delayed';
  status: string | null;
  diagnostic: string | null;
  reply: SmtpReply | null;
  remoteMta: string | null;
  /** The SMTP command the failure answered, when the notice says. */
  command: SmtpStage | null;
  /** The address this one was generated from (Exim "(generated from alias@x)"): the one sent to. */
  originalRecipient?: string | null;
}

export interface TextContext {
  /** Addresses that are never the failed recipient: the sender, the bounce's own From. */
  exclude: Set<string>;
  /** Addresses named by headers such as X-Failed-Recipients, in order. */
  hinted: string[];
}

// Words before an address that make it someone other than the recipient.
const NOT_RECIPIENT_BEFORE =
  /(?:mail from|envelope-from|from|sender|sent by|reply-to|return-path|message-id|contact|assistance|postmaster|sender-mta|originator|for more information|please send|e-mail us|email us|write to|visit|(?:fails|failed|please)?,?\s*try|new address(?: is)?|forward(?:ed|ing)? to)\s*[:=]?\s*[<"'(\[]*\s*$/i;
// Words before an address that introduce a failed recipient.
const RECIPIENT_BEFORE =
  /(?:rcpt to|recipient|recipients|to|address|addresses|addressee|delivered to|deliver(?:y|ing)? (?:to|for)|undeliverable to|failed|for|user|mailbox|account|following|was|email to|message to)\s*(?:\(s\)|\(es\))?\s*[:=]?\s*[<"(\[*]*\s*$/i;
// Decorations allowed before an address at the start of a line.
const LINE_START = /^[\s>*\-•"'<(\[]*(?:(?:\d{3}|recipient|to|rcpt to|address|user|original-recipient|final-recipient|rfc822)\s*[:;]?\s*[<"']*)?$/i;

const DELAY_WORDS =
  /\b(?:has been delayed|delivery (?:is |has been )?delayed|has not yet been delivered|not been delivered yet|warning message only|will (?:continue to |be )?retr(?:y|ied)|delay reason|still trying|delivery attempts will continue)/i;
const FAILURE_WORDS = /\b(?:permanent(?:ly)?|given up|giving up|could not be delivered|undeliverable|failed|unable to deliver)\b/i;

interface Candidate extends FoundAddress {
  line: number;
  strength: number;
}

function lineIndexAt(starts: number[], index: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// Ranks one mention: 3 the address opens its line, 2 words before it introduce a
// recipient, 1 any other mention, 0 not a recipient, -1 the sender's own address alone on
// a line (a bounce sent back to the failed address itself; used only when nothing else is).
function rank(text: string, found: FoundAddress, lineStart: number, previousLine: string, exclude: Set<string>): number {
  const before = text.slice(Math.max(lineStart, found.index - 60), found.index);
  const opensLine = found.index - lineStart <= 80 && LINE_START.test(text.slice(lineStart, found.index));
  if (exclude.has(addressKey(found.address))) {
    const lineEnd = text.indexOf('\n', found.end);
    const after = text.slice(found.end, Math.min(lineEnd === -1 ? text.length : lineEnd, found.end + 80));
    return opensLine && /^[>"'\s]*:?\s*$/.test(after) ? -1 : 0;
  }
  const after = text.slice(found.end, found.end + 3);
  // X.400 addresses carry the SMTP address as an attribute: "dda:SMTP=user@host;".
  if (/(?:\bdda:)?\b(?:smtp|rfc-?822)=$/i.test(before)) return 3;
  // Exim names the top-level address when it hides the one it generated ("an address
  // generated from x", "undisclosed address (generated from x)", "pipe to |cmd generated
  // by x"); otherwise "(generated from x)" is the alias the failed address came from.
  if (/generated\s+(?:from|by)\s*[<"']*$/i.test(before)) {
    const context = text.slice(Math.max(0, lineStart - 200), found.index);
    return /(?:an address|undisclosed address|pipe to|save to|file to)[^\n]*(?:\n[^\n]*)?$/i.test(context) ? 3 : 0;
  }
  if (/(?:https?:\/\/|[=\/?&])\S*$/.test(before) || /^[\w.-]*[/?=&]/.test(after)) return 0;
  if (NOT_RECIPIENT_BEFORE.test(before)) return 0;
  // A help address alone on the line after "please contact:" is not a recipient either.
  if (/(?:contact|assistance|questions?|help|support|write to|e-?mail us|administrator)\W*$/i.test(previousLine)) return 0;
  if (opensLine) return 3;
  if (RECIPIENT_BEFORE.test(before)) return 2;
  return 1;
}

function candidates(text: string, exclude: Set<string>): Candidate[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  // The last non-blank line before line `line`, trimmed to its end.
  const previousLine = (line: number) => {
    for (let l = line - 1; l >= 0 && l >= line - 3; l--) {
      const content = text.slice(Math.max(starts[l], starts[l + 1] - 200), starts[l + 1] - 1).trim();
      if (content !== '') return content;
    }
    return '';
  };
  return findAddresses(text, MAX_ADDRESSES).map((f) => {
    const line = lineIndexAt(starts, f.index);
    return { ...f, line, strength: rank(text, f, starts[line], previousLine(line), exclude) };
  });
}

function pickReply(block: string): SmtpReply | null {
  // A transcript line "<<< 550 ..." (MDaemon: "<-- 550 ...") is the remote server's own
  // answer: prefer it.
  const transcript = /^[^\n]{0,40}?(?:<<<|<--)[ \t]*(.*)$/gm;
  for (let m = transcript.exec(block); m; m = transcript.exec(block)) {
    const reply = findReplyInText(m[1]);
    if (reply && reply.code >= 400) return reply;
  }
  return findReplyInText(block);
}

function remoteMtaIn(block: string): string | null {
  const m =
    /(?:\bhost|while talking to|remote host|server)\s+\[?((?:[A-Za-z0-9-]{1,63}\.){1,10}[A-Za-z0-9-]{1,63})\]?/i.exec(block) ??
    /\b((?:[A-Za-z0-9-]{1,63}\.){1,10}[A-Za-z]{2,24})\s+\[[\d.:a-fA-F]{3,45}\]/.exec(block);
  return m ? m[1].replace(/\.$/, '') : null;
}

function collapse(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^[-=*_#]{4,}$/.test(l))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function describe(recipient: string, fullBlock: string, fullWide: string, action: 'failed' | 'delayed'): TextRecipient {
  const block = fullBlock.slice(0, MAX_BLOCK);
  const wide = fullWide.slice(0, MAX_BLOCK);
  // A reason may sit before the address ("Could not be delivered because of 550 ...") or
  // after it. Prefer the recipient's own block; use the wider text when only it has a
  // reply or status, or when the block says next to nothing.
  let text = block;
  let reply = pickReply(block);
  let status = findFailureStatus(block);
  if (!reply && !status && wide !== block) {
    const wideReply = pickReply(wide);
    const wideStatus = findFailureStatus(wide);
    const words = collapse(block.split(recipient).join(' ')).replace(/[^\p{L}]+/gu, ' ').trim().split(' ');
    if (wideReply || wideStatus || words.length < 4) {
      text = wide;
      reply = wideReply;
      status = wideStatus;
    }
  }
  const diagnostic = collapse(text).slice(0, 2000);
  const alias = /\(\s*generated\s+from\s+<?([^\s<>()]+@[^\s<>()]+?)>?\s*\)/i.exec(block);
  const original = alias ? normalizeAddress(alias[1]) : null;
  return {
    originalRecipient: original && addressKey(original) !== addressKey(recipient) ? original : null,
    recipient,
    action,
    status: reply?.enhanced ?? status,
    diagnostic: diagnostic === '' ? null : diagnostic,
    reply,
    remoteMta: remoteMtaIn(text),
    command: findSmtpStage(text),
  };
}

// Bounds for untrusted input: notices are a few kilobytes; a megabyte body or thousands of
// addresses is not a notice, and must not cost more than a bounded amount of work.
const MAX_TEXT = 200_000;
const MAX_ADDRESSES = 2_000;
const MAX_RECIPIENTS = 500;
const MAX_BLOCK = 20_000;

function firstAfter(sorted: number[], value: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] > value) hi = mid;
    else lo = mid + 1;
  }
  return sorted[lo];
}

/** Reads failed recipients and their reasons from a bounce notice. */
export function parseBounceText(notice: string, context: TextContext): TextRecipient[] {
  const text = notice.slice(0, MAX_TEXT).replace(/\r\n?/g, '\n');
  const action: 'failed' | 'delayed' = DELAY_WORDS.test(text) && !/\bpermanent/i.test(text) ? 'delayed' : 'failed';
  const all = candidates(text, context.exclude);
  const byKey = new Map<string, Candidate[]>();
  for (const c of all) {
    const key = addressKey(c.address);
    const list = byKey.get(key);
    if (list) list.push(c);
    else byKey.set(key, [c]);
  }
  const hinted = context.hinted.slice(0, MAX_RECIPIENTS).filter((h) => !context.exclude.has(addressKey(h)) || all.length === 0);
  let chosen: Candidate[];
  const strongInText = all.some((c) => c.strength === 3);
  const hintedInText = hinted.some((h) => byKey.has(addressKey(h)));
  // X-Failed-Recipients is trusted unless the notice names other addresses and never the
  // hinted ones (headers get rewritten by forwarders; the notice is the MTA's own words).
  if (hinted.length > 0 && (hintedInText || !strongInText)) {
    chosen = hinted.map((address) => {
      const seen = [...(byKey.get(addressKey(address)) ?? [])];
      const best = seen.sort((a, b) => b.strength - a.strength || a.index - b.index)[0];
      return best ? { ...best, address } : { address, index: -1, end: -1, line: -1, strength: 3 };
    });
  } else {
    const top = Math.max(0, ...all.map((c) => c.strength));
    if (top === 0) {
      const self = all.find((c) => c.strength === -1);
      if (!self) return [];
      all.splice(0, all.length, self);
    }
    // Weak mentions only count when nothing better exists, and then only the first one.
    chosen = top >= 2 ? all.filter((c) => c.strength >= 2) : all.filter((c) => c.strength === top || top === 0).slice(0, 1);
  }
  const unique: Candidate[] = [];
  const seenKeys = new Set<string>();
  for (const c of chosen) {
    const key = addressKey(c.address);
    if (seenKeys.has(key)) continue;
    seenKeys.add(key);
    unique.push(c);
    if (unique.length >= MAX_RECIPIENTS) break;
  }
  const lines = text.split('\n');
  // A block ends where the next address line starts, including a later line naming the
  // same address (notices repeated in a second language).
  const strongLines = (c: Candidate) => (byKey.get(addressKey(c.address)) ?? []).filter((o) => o.strength === 3).map((o) => o.line);
  const anchors = [...new Set(unique.filter((c) => c.line >= 0).flatMap((c) => [c.line, ...strongLines(c)]))].sort((a, b) => a - b);
  const blockAt = (line: number) => lines.slice(line, firstAfter(anchors, line) ?? lines.length).join('\n');
  return unique.map((c) => {
    if (c.line < 0) return describe(c.address, text, text, action);
    // Every line that names this address opens a piece of its explanation ("Your message
    // To: x ... did not reach: x  The recipient name is not recognized").
    const own = [...new Set([c.line, ...strongLines(c)])].sort((a, b) => a - b);
    const block = [...new Set(own.map(blockAt))].join('\n');
    // With several recipients the text around one of them belongs to the others.
    return describe(c.address, block, unique.length === 1 ? text : block, action);
  });
}

/** True when a notice reads like a report of failed or delayed delivery. */
export function readsLikeBounce(text: string): boolean {
  return FAILURE_WORDS.test(text) || DELAY_WORDS.test(text) || /\b[45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}\b/.test(text);
}
