/**
 * Finds SMTP replies and RFC 3463 status codes inside free text: DSN Diagnostic-Code
 * values, transcripts quoted in bounce bodies ("<<< 550 5.1.1 ..."), and sentences such
 * as "remote host said: 550 ...".
 *
 * Pure string work. It does not decide what a reply means (see qualification/) and does not
 * parse SMTP sessions.
 */
import { parseSmtpReply, type SmtpReply } from './smtp-reply.ts';

// A status code must not be part of a longer dotted number such as an IP address
// ("10.5.1.1") or a version ("2.0.0.1").
const STATUS_IN_TEXT = /(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)/;
// ...nor a product's version ("Mailman 2.0.12", "Postfix 3.4.5", "version 5.1.1", "v2.0.4"):
// a number right after a word that names software or a version is not a status.
const VERSION_BEFORE =
  /(?:\b(?:version|ver|release|rel|build|v|mailman|postfix|sendmail|exim|qmail|mdaemon|domino|exchange|courier|kerio|zimbra|communigate|imail|mercury|merak|icewarp|smartermail|hmailserver|opensmtpd|haraka|james|powermta|momentum|ecelerity|notes|fp)\.?|\/)[ \t]*$/i;

function isVersion(text: string, index: number): boolean {
  return VERSION_BEFORE.test(text.slice(Math.max(0, index - 24), index));
}

/** First RFC 3463 status code in a text, normalized ("5.01.1" → "5.1.1"), or null. */
export function findStatusCode(text: string): string | null {
  const all = new RegExp(STATUS_IN_TEXT.source, 'g');
  for (let m = all.exec(text); m; m = all.exec(text)) {
    if (!isVersion(text, m.index)) return `${m[1]}.${Number(m[2])}.${Number(m[3])}`;
  }
  return null;
}

/** First failure status (class 4 or 5) in a text, else the first status, else null. */
export function findFailureStatus(text: string): string | null {
  const all = new RegExp(STATUS_IN_TEXT.source, 'g');
  let first: string | null = null;
  for (let m = all.exec(text); m; m = all.exec(text)) {
    if (isVersion(text, m.index)) continue;
    const status = `${m[1]}.${Number(m[2])}.${Number(m[3])}`;
    if (m[1] !== '2') return status;
    first ??= status;
  }
  return first;
}

/** True for statuses that say no more than their class ("5.0.0", "4.0.0"). */
export function isGenericStatus(status: string | null): boolean {
  return status === null || /^[245]\.0\.0$/.test(status);
}

// A reply code at the start of the text or after a separator (Exchange writes "#550 5.1.1
// ... ##" in its notices), followed on the same line
// by text, an enhanced status or a hyphen (multi-line reply); never inside a longer number
// such as an IP address. After "said:" the text may start on the next line: Postfix wraps
// its notices ("host mx.example.com[192.0.2.1] said: 550\n    <a@b>: User unknown").
const REPLY_CODE =
  /(?:^|[\s:;(\[>"'=#]|said:?)([245][0-5]\d)(?=[ \t]*-?[ \t]*[^\s\d]|[ \t]+[245]\.\d|-[245]\.\d|:[ \t]+\S|(?<=said:?[ \t]{1,4}\d{3})[ \t]*\n[ \t]*[^\s\d])(?!\.\d)/m;

/**
 * Finds the first SMTP reply in a text and returns it with the text that follows (the
 * rest of the reply, continuation lines "550-..." merged). Returns null when the text has
 * no reply code.
 */
export function findReplyInText(text: string): SmtpReply | null {
  // Transcripts show successful steps ("250 2.1.5 Ok") before the failure: prefer the
  // first 4xx or 5xx reply, and take a success only when there is no failure.
  const all = new RegExp(REPLY_CODE.source, 'gm');
  let m: RegExpExecArray | null = null;
  let firstAny: RegExpExecArray | null = null;
  for (let x = all.exec(text); x; x = all.exec(text)) {
    firstAny ??= x;
    if (x[1][0] === '4' || x[1][0] === '5') {
      m = x;
      break;
    }
    if (x[0].length === 0) all.lastIndex++;
  }
  m ??= firstAny;
  if (!m) return null;
  const start = m.index + m[0].length - m[1].length;
  const rest = text.slice(start);
  const lines = rest.split('\n');
  const code = m[1];
  // Continuation lines of a multi-line reply repeat the code; a wrapped line does not,
  // so keep wrapped lines until a blank line.
  const taken: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (i > 0 && line === '') break;
    if (i > 0 && /^\d{3}[ -]/.test(line) && !line.startsWith(code)) break;
    taken.push(line);
    if (taken.length >= 12) break;
  }
  const reply = parseSmtpReply(taken.join('\n'));
  if (reply.code < 200 || reply.code > 599) return null;
  reply.text = reply.text.replace(/\s+/g, ' ').trim();
  return reply;
}

/**
 * Builds the reply to classify for a diagnostic text that may or may not start with a
 * code: the reply found in the text, or a reply with code 0 carrying the whole text.
 */
export function replyFromDiagnostic(text: string, status: string | null): SmtpReply {
  const found = findReplyInText(text);
  const enhanced = found?.enhanced ?? findStatusCode(text);
  const best = !isGenericStatus(status) || !enhanced ? status ?? enhanced : enhanced;
  return {
    code: found?.code ?? 0,
    enhanced: best,
    text: text.replace(/\s+/g, ' ').trim(),
  };
}

/** The SMTP stage a reply answered, as bounce notices tell it. */
export type SmtpStage = 'CONNECT' | 'HELO' | 'MAIL' | 'RCPT' | 'DATA';

function stageOf(word: string): SmtpStage | null {
  const w = word.toUpperCase().replace(/\s+/g, ' ');
  if (/DATA|BDAT|SENT THE MESSAGE|END OF/.test(w)) return 'DATA';
  if (/RCPT|RECIPIENT/.test(w)) return 'RCPT';
  if (/MAIL|SENDER/.test(w)) return 'MAIL';
  if (/HELO|EHLO|NAME WAS|STARTTLS|AUTH/.test(w)) return 'HELO';
  if (/CONNECT|GREETING|BANNER|TALK TO ME/.test(w)) return 'CONNECT';
  return null;
}

// How MTAs say which command failed: Postfix "(in reply to RCPT TO command)", Exim "after
// RCPT TO:", Sendmail ">>> RCPT To:" followed by "<<< 550", DragonFly "did not like our RCPT
// TO", qmail "does not like recipient" / "sender was rejected" / "failed after I sent the
// message", and "SMTP command: DATA" style tables.
const STAGE_PATTERNS: RegExp[] = [
  /in\s+reply\s+to\s+(end\s+of\s+DATA|DATA|RCPT\s+TO|MAIL\s+FROM|HELO|EHLO|STARTTLS|AUTH|BDAT)\b/i,
  /after\s+(end\s+of\s+data|initial\s+connection|RCPT\s+TO|MAIL\s+FROM|HELO|EHLO|STARTTLS|AUTH|DATA)\b/i,
  // Sendmail pipelines RCPT and DATA: a recipient refusal is printed after ">>> DATA", so
  // a transcript only tells the stage for the commands before DATA.
  />>>\s*(RCPT TO|MAIL FROM|HELO|EHLO)\b[^\n]*\n\s*<<<\s*[45]\d\d/i,
  // MDaemon writes its transcript as "--> RCPT To:<a@b>" then "<-- 550 ...", each line
  // after a timestamp.
  /-->\s*(RCPT TO|MAIL FROM|HELO|EHLO|DATA)\b[^\n]*\n[^\n]*<--\s*[45]\d\d/i,
  /did\s+not\s+like\s+our\s+(final\s+DATA|DATA|RCPT\s+TO|MAIL\s+FROM|HELO|EHLO)/i,
  /does not like (recipient|sender)|(sender) was rejected|my (name was) rejected|failed after I (sent the message)|(refused to talk to me)/i,
  // qmail: "no SMTP connection got far enough; most progress was RCPT TO response".
  /most\s+progress\s+was\s+(RCPT\s+TO|MAIL\s+FROM|HELO|EHLO|greeting)\s+response/i,
  /SMTP command[ \t]*:?[ \t]*\n?[ \t]*(DATA|RCPT|MAIL|HELO|EHLO)\b/i,
  /SMTP:(RCPT|DATA|MAIL)\b/,
  /\((DATA|RCPT TO|MAIL FROM)\)/,
  // Yahoo: "Remote host said: 550 ... User Unknown [RCPT_TO]".
  /\[(RCPT_TO|MAIL_FROM|DATA)\]/,
];

/** Finds which SMTP command a failure answered, or null when the text does not say. */
export function findSmtpStage(text: string): SmtpStage | null {
  for (const re of STAGE_PATTERNS) {
    const m = re.exec(text);
    if (!m) continue;
    const word = m.slice(1).find((g) => g !== undefined);
    const stage = word ? stageOf(word) : null;
    if (stage) return stage;
  }
  return null;
}
