/**
 * `npx tsx bench/compose.ts [N]`: the cost of building one personalized 10 KB message, per
 * step and per method: liquidjs's interpreter against the fast path for simple templates,
 * and nodemailer's MailComposer against Estafeta's MIME builder (which uses nodemailer's
 * encoders). Prints microseconds per message.
 */
import { Liquid } from 'liquidjs';
import MailComposer from 'nodemailer/lib/mail-composer';
import { compileFast } from '../src/deliveries/fast-template.ts';
import { buildMessage, formatAddress, toCrlf } from '../src/mail/mime-build.ts';
import { HTML, TEXT } from './lib/content.ts';

const N = Number(process.argv[2] ?? 5000);
const data = (i: number) => ({ firstName: `Name${i}`, city: 'Lisboa', unsubscribeUrl: `https://shop.example/unsubscribe/${i}` });

function time(label: string, fn: (i: number) => unknown): number {
  for (let i = 0; i < 200; i++) fn(i);
  const t = performance.now();
  for (let i = 0; i < N; i++) fn(i);
  const us = ((performance.now() - t) / N) * 1000;
  process.stdout.write(`${label.padEnd(52)} ${us.toFixed(1).padStart(8)} µs/message\n`);
  return us;
}

async function timeAsync(label: string, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await fn(i);
  const t = performance.now();
  for (let i = 0; i < N; i++) await fn(i);
  const us = ((performance.now() - t) / N) * 1000;
  process.stdout.write(`${label.padEnd(52)} ${us.toFixed(1).padStart(8)} µs/message\n`);
  return us;
}

const liquid = new Liquid({ outputEscape: 'escape', ownPropertyOnly: true });
const parsedHtml = liquid.parse(HTML);
const parsedText = new Liquid({ ownPropertyOnly: true }).parse(TEXT);
const fastHtml = compileFast(HTML, true)!;
const fastText = compileFast(TEXT, false)!;
const plain = new Liquid({ ownPropertyOnly: true });

process.stdout.write(`${N} messages, HTML template ${HTML.length} bytes, text ${TEXT.length} bytes\n`);
time('render HTML + text, liquidjs renderSync', (i) => [liquid.renderSync(parsedHtml, data(i)), plain.renderSync(parsedText, data(i))]);
time('render HTML + text, fast path', (i) => [fastHtml.render(data(i)), fastText.render(data(i))]);
// As the sender gives them: its templates get CRLF line ends once per delivery.
const html = toCrlf(fastHtml.render(data(1)));
const text = toCrlf(fastText.render(data(1)));
await timeAsync('MIME, nodemailer MailComposer', (i) =>
  new MailComposer({ from: '"Shop" <news@shop.example>', to: `user${i}@example.org`, subject: `Hello Name${i}`, html, text, messageId: `<${i}@shop.example>` }).compile().build(),
);
time('MIME, Estafeta buildMessage (nodemailer encoders)', (i) =>
  buildMessage({ headers: [['From', formatAddress('Shop', 'news@shop.example')], ['To', `user${i}@example.org`], ['Subject', `Hello Name${i}`], ['Message-ID', `<${i}@shop.example>`]], html, text }),
);
