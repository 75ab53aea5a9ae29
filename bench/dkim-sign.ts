/**
 * DKIM signing cost per 10 KB message, by method, on this machine:
 *   - mailauth 4.13.3 dkimSign (the library), RSA-2048, on the main thread;
 *   - Estafeta's signer (src/dkim/sign.ts) on the main thread: RSA-2048, Ed25519, both;
 *   - DkimSigner as the sender uses it (keys from the database, a worker pool), batches
 *     of 500: throughput, and the main thread's busy time per message (event-loop
 *     utilization), which is what the rest of the process (SMTP, database) competes for.
 * Wall time gives messages per second; CPU time (every thread of the process) is steadier
 * on a shared machine.
 * Usage: npx tsx bench/dkim-sign.ts [messages=3000]
 * Prints one line per method: messages per second and milliseconds per message.
 */
import { performance } from 'node:perf_hooks';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { buildMessage } from '../src/mail/mime-build.ts';
import { openDatabase } from '../src/db/index.ts';
import { silentLogger } from '../src/lib/logger.ts';
import { generateDkimKey, dkimSignatures, createDkimKey, DkimSigner, type SigningKey } from '../src/dkim/index.ts';
import type { InjectMessage } from '../src/mta/index.ts';

const N = Number(process.argv[2] ?? 3000);
const paragraph = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. ';
const message = (i: number) =>
  buildMessage({
    headers: [['From', '"Shop" <news@shop.example>'], ['To', `user${i}@example.org`], ['Subject', `Autumn offers for user ${i}`], ['Date', new Date().toUTCString()], ['Message-ID', `<${i}.bench@shop.example>`], ['List-Unsubscribe', `<https://shop.example/u/${i}>`], ['Feedback-ID', '1:estafeta']],
    text: (paragraph.repeat(5) + '\n').repeat(9),
    html: ('<p>' + paragraph.repeat(5) + '</p>\n').repeat(9),
  });
const messages = Array.from({ length: N }, (_, i) => message(i));
const avgSize = Math.round(messages.reduce((a, m) => a + m.length, 0) / N);

/** Wall time gives msg/s; CPU time (all threads of the process) moves less with the machine's load. */
function report(name: string, ms: number, cpu: NodeJS.CpuUsage, n: number, extra = ''): void {
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(`${name.padEnd(50)} ${String(Math.round((n / ms) * 1000)).padStart(6)} msg/s  wall ${(ms / n).toFixed(3)} ms/msg  cpu ${(cpuMs / n).toFixed(3)} ms/msg${extra}`);
}

async function timed(name: string, n: number, fn: (i: number) => unknown): Promise<void> {
  for (let i = 0; i < Math.min(50, n); i++) await fn(i); // warm up
  const cpu = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  report(name, performance.now() - t, process.cpuUsage(cpu), n);
}

const rsa = await generateDkimKey('rsa-sha256');
const ed = await generateDkimKey('ed25519-sha256');
const rsaKey: SigningKey = { domain: 'shop.example', selector: 'r1', algorithm: 'rsa-sha256', privateKey: createPrivateKey(rsa.privateKey) };
const edKey: SigningKey = { domain: 'shop.example', selector: 'e1', algorithm: 'ed25519-sha256', privateKey: createPrivateKey(ed.privateKey) };

console.log(`${N} messages of ${avgSize} bytes on average; ${new Date().toISOString()}`);
const fewer = Math.min(N, 1000);
// mailauth reads `signatureData` (its lib/dkim/dkim-signer.js); its .d.ts only knows the top-level fields.
const mailauthOptions = { canonicalization: 'relaxed/relaxed', signatureData: [{ signingDomain: 'shop.example', selector: 'r1', privateKey: rsa.privateKey, algorithm: 'rsa-sha256' }] } as unknown as Parameters<typeof dkimSign>[1];
if (!(await dkimSign(messages[0], mailauthOptions)).signatures.startsWith('DKIM-Signature:')) throw new Error('mailauth did not sign');
await timed('mailauth dkimSign, RSA-2048, main thread', fewer, (i) => dkimSign(messages[i], mailauthOptions));
await timed('estafeta sign, RSA-2048, main thread', N, (i) => dkimSignatures(messages[i], [rsaKey]));
await timed('estafeta sign, Ed25519, main thread', N, (i) => dkimSignatures(messages[i], [edKey]));
await timed('estafeta sign, RSA-2048 + Ed25519, main thread', N, (i) => dkimSignatures(messages[i], [rsaKey, edKey]));

// The signer the sender calls, with keys in a database as in production.
const dir = mkdtempSync(join(tmpdir(), 'estafeta-bench-'));
const db = await openDatabase(`sqlite:${join(dir, 'bench.db')}`);
try {
  for (const [label, algorithms] of [['RSA-2048', ['rsa-sha256']], ['RSA-2048 + Ed25519', ['rsa-sha256', 'ed25519-sha256']]] as const) {
    const domain = `${label.replace(/[^a-z0-9]/gi, '').toLowerCase()}.example`;
    for (const [i, algorithm] of algorithms.entries()) await createDkimKey(db, { domain, selector: `s${i}`, algorithm }, 'bench-secret');
    const signer = new DkimSigner({ db, logger: silentLogger, secret: 'bench-secret' });
    const inject: InjectMessage[] = messages.map((body, i) => ({ logId: i, deliveryId: 1, mailFrom: 'b@x', rcptTo: `user${i}@example.org`, messageId: null, body, expiresAt: 0 }));
    await signer.sign(inject.slice(0, 100), domain); // starts the workers
    const elu0 = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    const t = performance.now();
    let signed = 0;
    for (let i = 0; i < N; i += 500) signed += (await signer.sign(inject.slice(i, i + 500), domain)).filter((m) => m.body.length > m.rcptTo.length && m.body.subarray(0, 15).toString() === 'DKIM-Signature:').length;
    const ms = performance.now() - t;
    const used = process.cpuUsage(cpu);
    const elu = performance.eventLoopUtilization(elu0);
    if (signed !== N) throw new Error(`only ${signed} of ${N} messages were signed`);
    report(`DkimSigner, ${label}, worker pool`, ms, used, N, `  main thread ${(elu.active / N).toFixed(3)} ms/msg`);
    await signer.close();
  }
} finally {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
