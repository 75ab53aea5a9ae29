/**
 * Recognizes automatic replies (out of office, vacation, autoresponders) from their
 * headers (RFC 3834 Auto-Submitted, X-Autoreply, Precedence: auto_reply, ...) and their
 * subjects in several languages.
 *
 * Also recognizes challenge-response requests (Boxbe, Spam Arrest, "please verify
 * yourself"), which are not bounces either.
 *
 * Does not tell an auto-reply from a bounce by itself: bounces from Postfix or Gmail also
 * carry "Auto-Submitted: auto-replied", so bounce-mail.ts looks for bounce signals first.
 */
import { first, type Fields } from './report-fields.ts';

// Subject prefixes and phrases of out-of-office and autoresponder messages. Kept to
// phrases that ordinary mail rarely uses, in English, German, French, Spanish, Italian,
// Portuguese, Dutch, Nordic languages, Polish, Czech, Russian, Japanese and Chinese.
const AUTO_REPLY_SUBJECTS: RegExp[] = [
  /^\s*(?:auto(?:matic)?[\s_-]*(?:reply|response|respons|answer|antwort)|autoreply|autorespon[ds]e?r?|auto:)/i,
  /\b(?:out of (?:the )?office|ooo|on vacation|vacation (?:reply|notice|message|response)|away from (?:the|my) (?:office|desk)|away until|on leave|on holiday|annual leave)\b/i,
  /\b(?:abwesenheitsnotiz|automatische antwort|abwesend|urlaubsabwesenheit|nicht im b[üu]ro|au[ßs]er haus)\b/i,
  /(?:r[ée]ponse automatique|absence du bureau|je suis absente?|message d'absence|\babsent(?:e)? du\b)/i,
  /(?:respuesta autom[áa]tica|fuera de (?:la )?oficina|ausente de la oficina|de vacaciones)/i,
  /(?:risposta automatica|fuori (?:sede|ufficio)|in ferie)/i,
  /(?:resposta autom[áa]tica|fora do escrit[óo]rio|ausente do escrit[óo]rio)/i,
  /(?:automatisch antwoord|afwezigheidsbericht|niet aanwezig|buiten kantoor)/i,
  /(?:autosvar|automatisk svar|fr[åa]nvaro|frav[æa]r|poissa)/i,
  /(?:automatyczna odpowied[źz]|poza biurem|automatick[áa] odpov[ěe][ďd]|mimo kancel[áa][řr])/i,
  /(?:автоответ|автоматический ответ|нет на месте|в отпуске)/i,
  /(?:自動応答|自動返信|不在通知|不在のお知らせ|自动回复|自動回覆|休假)/,
];

/** True when a subject reads like an automatic reply. */
export function isAutoReplySubject(subject: string): boolean {
  return AUTO_REPLY_SUBJECTS.some((re) => re.test(subject));
}

/**
 * Returns why a message looks like an automatic reply ("header auto-submitted",
 * "subject", ...), or null when nothing says so.
 */
export function autoReplySignal(headers: Fields, subject: string): string | null {
  const autoSubmitted = first(headers, 'auto-submitted')?.toLowerCase() ?? '';
  if (autoSubmitted.startsWith('auto-replied')) return 'header auto-submitted: auto-replied';
  const xAutoreply = first(headers, 'x-autoreply') ?? first(headers, 'x-auto-reply');
  if (xAutoreply !== null && !/^\s*(?:no|false|0)\b/i.test(xAutoreply)) return 'header x-autoreply';
  if (headers.has('x-autorespond') || headers.has('x-autoreply-from') || headers.has('x-mail-autoreply')) {
    return 'header x-autorespond';
  }
  const precedence = first(headers, 'precedence')?.toLowerCase() ?? '';
  if (precedence.startsWith('auto_reply') || precedence.startsWith('auto-reply')) return 'header precedence: auto_reply';
  if (/vacation|autorespon|auto-?reply/i.test(first(headers, 'x-mailer') ?? '')) return 'header x-mailer';
  if (isAutoReplySubject(subject)) return 'subject';
  return null;
}

// Challenge-response systems hold mail until the sender proves to be a person (Boxbe's guest
// list, Spam Arrest, ChoiceMail, Mailblocks). Their requests are not bounces: the mail is
// waiting, the address exists (SparkPost bounce class 100, KumoMTA ChallengeResponse).
const CHALLENGE_SENDERS = /@(?:[\w-]+\.)*(?:boxbe\.com|spamarrest\.com|choicemail\.com|mailblocks\.com|digiportal\.com|sendio\.com)$/i;
const CHALLENGE_WORDS =
  /please verify yourself|verify yourself as (?:a )?(?:human|person|sender)|verify that you are (?:a )?(?:human|real person|person)|challenge[- ]response|(?:added|add you) to (?:my|the|his|her|their) (?:guest|approved senders?|allowed senders?|white) ?list|whitelist request|sender verification (?:request|required)|(?:your message|your e-?mail) (?:is|has been) (?:held|queued) (?:pending|until|for) (?:your )?verification/i;

/**
 * Returns why a message looks like a challenge-response request ("sender boxbe.com",
 * "wording"), or null. The text is the notice, read only in its first few kilobytes.
 */
export function challengeSignal(from: string, subject: string, text: string): string | null {
  if (CHALLENGE_SENDERS.test(from.trim())) return `sender ${from.split('@').pop()?.toLowerCase()}`;
  if (CHALLENGE_WORDS.test(subject) || CHALLENGE_WORDS.test(text.slice(0, 4000))) return 'wording';
  return null;
}
