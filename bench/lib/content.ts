/**
 * The benchmark's delivery: a personalized HTML + text campaign of about 10 KB per message,
 * and CSV targets of any size.
 */
const paragraph = (i: number) =>
  `<tr><td style="padding:12px;font-family:Arial,sans-serif;font-size:15px;color:#333">Item ${i}: our autumn selection is here, {{ firstName }}. Hand-picked for {{ city }}, with free delivery on orders over 50 euros this week only.</td></tr>\n`;

export const HTML =
  `<!doctype html><html><body style="margin:0;background:#f4f4f4"><table width="100%" cellpadding="0" cellspacing="0">\n` +
  `<tr><td style="padding:24px;font-size:22px">Hello {{ firstName }},</td></tr>\n` +
  Array.from({ length: 32 }, (_, i) => paragraph(i + 1)).join('') +
  `<tr><td style="padding:24px;font-size:12px;color:#999">You receive this because you joined our list. <a href="{{ unsubscribeUrl }}">Unsubscribe</a></td></tr>\n</table></body></html>\n`;

export const TEXT =
  `Hello {{ firstName }},\n\n` +
  Array.from({ length: 20 }, (_, i) => `Item ${i + 1}: our autumn selection is here, hand-picked for {{ city }}.\n`).join('') +
  `\nUnsubscribe: {{ unsubscribeUrl }}\n`;

const CITIES = ['Lisboa', 'Madrid', 'Paris', 'Berlin', 'Roma', 'Wien', 'Praha', 'Dublin'];

/** A CSV target of `n` recipients at `domain`. */
export function csvTarget(n: number, domain: string): string {
  const rows = new Array<string>(n + 1);
  rows[0] = 'email,firstName,city';
  for (let i = 0; i < n; i++) rows[i + 1] = `user${i}@${domain},Name${i},${CITIES[i % CITIES.length]}`;
  return rows.join('\n') + '\n';
}
