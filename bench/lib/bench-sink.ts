/**
 * The recipients' MX for a benchmark that runs Estafeta in its own process: Postfix's
 * smtp-sink in a process of its own when Postfix can run here (it keeps nothing and costs
 * Estafeta's process nothing), else the tests' smtp-server sink in this process, which
 * parses every message on the main thread that Estafeta uses too. `inProcess` is that sink
 * (it keeps what it received), or null for smtp-sink.
 */
import { freePort, startSink, type Sink } from '../../test/helpers/smtp-sink.ts';
import { postfixAvailable } from './postfix-relay.ts';
import { startDaemon, stopDaemon } from './proc.ts';

export interface BenchSink {
  port: number;
  inProcess: Sink | null;
  stop(): Promise<void>;
}

export async function startBenchSink(host: string): Promise<BenchSink> {
  const port = await freePort([host]);
  if (!postfixAvailable()) {
    const daemon = startDaemon('/usr/sbin/smtp-sink', ['-u', 'postfix', `${host}:${port}`, '1024']);
    return { port, inProcess: null, stop: () => stopDaemon(daemon) };
  }
  const sink = await startSink(host, port);
  return { port, inProcess: sink, stop: () => sink.stop() };
}
