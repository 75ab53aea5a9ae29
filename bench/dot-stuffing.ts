/**
 * `npx tsx bench/dot-stuffing.ts [N]`: the cost of nodemailer's DATA encoder (DataStream:
 * dot-stuffing and line-end repair) on the benchmark's 10 KB message, with its own byte
 * loop and with Estafeta's native-search path (src/mta/dot-stuffing.ts). Prints
 * microseconds per message for each.
 */
import DataStream from 'nodemailer/lib/smtp-connection/data-stream';
import { installFastDotStuffing } from '../src/mta/dot-stuffing.ts';
import { buildMessage } from '../src/mail/mime-build.ts';
import { HTML, TEXT } from './lib/content.ts';

const N = Number(process.argv[2] ?? 5000);
const message = buildMessage({ headers: [['From', 'news@shop.example'], ['Subject', 'Hello']], html: HTML, text: TEXT });

async function encode(): Promise<void> {
  const s = new (DataStream as unknown as new () => NodeJS.ReadWriteStream)();
  s.on('data', () => {});
  const ended = new Promise((r) => s.on('end', r));
  s.end(message);
  await ended;
}

async function time(label: string): Promise<void> {
  for (let i = 0; i < 500; i++) await encode();
  const t = performance.now();
  for (let i = 0; i < N; i++) await encode();
  process.stdout.write(`${label.padEnd(40)} ${(((performance.now() - t) / N) * 1000).toFixed(1).padStart(7)} µs/message\n`);
}

process.stdout.write(`${N} messages of ${message.length} bytes\n`);
await time("nodemailer's DataStream byte loop");
installFastDotStuffing();
await time('native-search path');
