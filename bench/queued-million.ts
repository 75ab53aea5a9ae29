/**
 * `npx tsx bench/queued-million.ts [N]`: the MTA's memory with a million messages queued.
 * Writes N messages (default 1,000,000, 1 KB each) straight into a fresh SQLite spool, then
 * runs the MTA engine for 30 seconds against smtp-sink through an MX rule of 600 messages a
 * second, sampling the process's memory and the messages the engine holds. Memory must stay
 * bounded by the engine's in-flight limit and the rule's ready-queue size, not by N.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimDns } from '../src/sim/dns-server.ts';
import { openDatabase } from '../src/db/index.ts';
import { configSchema } from '../src/config/index.ts';
import { enqueue, type InjectMessage } from '../src/mta/index.ts';
import { buildMta } from '../src/app/mta-setup.ts';
import { loadBouncePolicy, classifyReply, retryDelayMs } from '../src/qualification/index.ts';
import { silentLogger } from '../src/lib/logger.ts';
import { freePort, sleep, startDaemon, stopDaemon } from './lib/proc.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const mb = () => Math.round(process.memoryUsage().rss / 1048576);

const dir = mkdtempSync(join(tmpdir(), 'estafeta-queued-'));
mkdirSync(join(dir, 'policy'));
writeFileSync(join(dir, 'policy', 'mx-rules.yaml'), 'rules:\n  - { name: bench, mx: ["*.sink.bench"], maxConnections: 10, messagesPerMinute: 36000, maxReady: 1000 }\n  - { name: default, mx: ["*"] }\n');
const db = await openDatabase(`sqlite:${join(dir, 'e.db')}`, { sqliteSynchronous: 'NORMAL' });

process.stderr.write(`writing ${N} messages to the spool...\n`);
const body = Buffer.from(`Subject: queued\r\n\r\n${'x'.repeat(1000)}\r\n`);
const t0 = performance.now();
for (let i = 0; i < N; i += 10_000) {
  const batch: InjectMessage[] = [];
  for (let j = i; j < Math.min(N, i + 10_000); j++) batch.push({ logId: null, deliveryId: null, mailFrom: 'bounce@bench.test', rcptTo: `u${j}@sink.bench`, messageId: null, body, expiresAt: Date.now() + 86_400_000 });
  await db.tx((trx) => enqueue(trx, batch));
}
const writeSeconds = (performance.now() - t0) / 1000;

const sinkPort = await freePort();
const sink = startDaemon('/usr/sbin/smtp-sink', ['-u', 'postfix', `127.0.0.1:${sinkPort}`, '1024']);
const dns = await startSimDns({ port: 0, records: [{ name: 'sink.bench', type: 'MX', exchange: 'mx.sink.bench', priority: 10 }, { name: 'mx.sink.bench', type: 'A', address: '127.0.0.1' }] });
const config = configSchema.parse({ dns: { servers: [`127.0.0.1:${dns.port}`] }, mta: { port: sinkPort }, policy: { dir: join(dir, 'policy') } });
const policy = loadBouncePolicy();
let delivered = 0;
const mta = buildMta(config, db, silentLogger, { qualify: (r) => classifyReply(r, policy), retryDelayMs: (q, a) => retryDelayMs(policy, q.category, a) ?? 60_000 }, {
  signals: { emit: (_name, p) => (delivered += p.delivered) },
});
global.gc?.();
await sleep(500);
const before = mb();
let peak = before;
let maxHeld = 0;
await mta.engine.start();
const until = performance.now() + 30_000;
while (performance.now() < until) {
  await sleep(200);
  peak = Math.max(peak, mb());
  maxHeld = Math.max(maxHeld, mta.engine.stats().inFlight);
}
await mta.engine.stop();
for (const w of mta.watchers) w.stop();
await stopDaemon(sink);
await dns.stop();
await db.close();
const result = { queued: N, spoolWriteSeconds: Math.round(writeSeconds), rssMbBeforeEngine: before, peakRssMbWithEngine: peak, maxMessagesHeldInMemory: maxHeld, deliveredIn30Seconds: delivered };
process.stdout.write(JSON.stringify(result) + '\n');
