/**
 * A load generator for bench/tracking-load.ts, run as its own process so that it does not
 * share Estafeta's event loop: autocannon hitting one base URL at a fixed overall rate,
 * each request on the next path of a list (signed pixel or link URLs of real messages),
 * until SIGTERM. Prints one JSON line: requests, rate achieved, latency, status codes.
 * Usage: tsx bench/lib/tracking-load-client.ts <base-url> <rate> <connections> <paths-file>
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

interface Histogram { average: number; p50: number; p90: number; p99: number; max: number; total: number }
interface Result { requests: Histogram; latency: Histogram; duration: number; errors: number; timeouts: number; statusCodeStats: Record<string, { count: number }>; non2xx: number }
interface Instance { stop(): void }
type Autocannon = (o: Record<string, unknown>, done: (err: Error | null, r: Result) => void) => Instance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const [base, rate, connections, pathsFile] = process.argv.slice(2);
const paths = readFileSync(pathsFile, 'utf8').split('\n').filter(Boolean);
let next = 0;
const started = Date.now();
const instance = autocannon(
  {
    url: base,
    connections: Number(connections),
    overallRate: Number(rate),
    duration: 3600,
    // A person's browser, so that the requests go through the whole judgement (no agent matches).
    headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36' },
    requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, path: paths[next++ % paths.length] }) }],
  },
  (err, r) => {
    if (err) throw err;
    const seconds = (Date.now() - started) / 1000;
    const statuses = Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count]));
    process.stdout.write(
      JSON.stringify({ requests: r.requests.total, seconds: Math.round(seconds * 10) / 10, perSecond: Math.round(r.requests.total / seconds), latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max }, statuses, errors: r.errors, timeouts: r.timeouts }) + '\n',
    );
  },
);
process.on('SIGTERM', () => instance.stop());
