/**
 * The receiving MX of a cluster of hosts (test/helpers/cluster-hosts.ts), run inside its own
 * network namespace: `node --import tsx test/helpers/cluster-sink.ts HOST SMTP_PORT HTTP_PORT
 * [DATA_DELAY_MS]`. The smtp-server of test/helpers/smtp-sink.ts, accepting every message
 * without STARTTLS (as Postfix's smtp-sink in bench/run.ts) and keeping envelopes only, no
 * bodies. Its HTTP server on HTTP_PORT (same host) answers:
 *   GET /             messages accepted per client address, connections (most at once, total);
 *   GET /recipients   every acceptance per recipient: [client address, ms since the epoch], ...
 *   POST /reset       forgets what it counted (between two deliveries to the same addresses).
 * It does not check what it receives: the test or the benchmark does, from these counts.
 */
import { createServer } from 'node:http';
import { startSink } from './smtp-sink.ts';

const [host, smtpPort, httpPort, delay] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5] ?? 0)];
const sink = await startSink(host, smtpPort, () => null, { noStartTls: true, keepBodies: false, dataDelayMs: delay || undefined });

createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  if (req.method === 'POST' && req.url === '/reset') {
    sink.received.length = 0;
    sink.connections.max = sink.connections.now;
    sink.connections.total = 0;
    return res.end('{}');
  }
  if (req.url === '/recipients') {
    const byRecipient: Record<string, [string, number][]> = {};
    for (const m of sink.received) for (const to of m.to) (byRecipient[to] ??= []).push([clientAddress(m.remoteAddress), m.at]);
    return res.end(JSON.stringify(byRecipient));
  }
  const byAddress: Record<string, number> = {};
  for (const m of sink.received) byAddress[clientAddress(m.remoteAddress)] = (byAddress[clientAddress(m.remoteAddress)] ?? 0) + m.to.length;
  res.end(JSON.stringify({ byAddress, connections: sink.connections }));
}).listen(httpPort, host);

function clientAddress(a: string): string {
  return a.replace(/^::ffff:/, '');
}

// Estafeta keeps its connections open between messages: close what it can, then go.
process.on('SIGTERM', () => {
  setTimeout(() => process.exit(0), 500).unref();
  void sink.stop().then(() => process.exit(0));
});
