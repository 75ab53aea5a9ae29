/**
 * A load generator for bench/send-api.ts's single calls, run as its own process so that the
 * client does not share Estafeta's event loop and cores' time slices with it: autocannon
 * POSTing `amount` messages to /api/v1/messages over `connections` keep-alive connections,
 * each call with a recipient of its own. Prints one JSON line: calls, seconds, calls a
 * second, latency percentiles and status codes.
 * Usage: tsx bench/lib/send-api-client.ts <api-base-url> <bearer-key> <connections> <amount> <message-json> [<recipient-prefix>]
 */
import { createRequire } from 'node:module';

interface Histogram { average: number; p50: number; p90: number; p99: number; max: number; total: number }
interface Result { requests: Histogram; latency: Histogram; errors: number; timeouts: number; statusCodeStats: Record<string, { count: number }> }
type Autocannon = (o: Record<string, unknown>, done: (err: Error | null, r: Result) => void) => { on(event: 'response', listener: () => void): void };
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const [base, key, connections, amount, messageJson, prefix = 's'] = process.argv.slice(2);
const message = JSON.parse(messageJson) as Record<string, unknown>;
let next = 0;
const started = Date.now();
let lastAnswer = started;
// Timed to the last answer: autocannon calls back on its next one-second tick, which
// rounded every run up to a whole second (runs printed 7.03 to 8.06 s, never less).
const instance = autocannon(
  {
    url: `${base}/api/v1/messages`,
    method: 'POST',
    connections: Number(connections),
    amount: Number(amount),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    // A recipient per call, as an application's password resets would have.
    requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: JSON.stringify({ ...message, to: [`${prefix}${next++}@bench.test`] }) }) }],
  },
  (err, r) => {
    if (err) throw err;
    const seconds = (lastAnswer - started) / 1000;
    const statuses = Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count]));
    process.stdout.write(
      JSON.stringify({ calls: r.requests.total, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round(r.requests.total / seconds), latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max }, statuses, errors: r.errors, timeouts: r.timeouts }) + '\n',
    );
  },
);
instance.on('response', () => {
  lastAnswer = Date.now();
});
