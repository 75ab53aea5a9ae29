/**
 * The NATS side of the event stream: one connection, the stream created when missing
 * (subjects `<prefix>.>`, a duplicate window so a republish after a crash is dropped by
 * JetStream), and a publish of a batch of documents that resolves once every message is
 * acknowledged, each with its event id as Nats-Msg-Id. Knows nothing of the database.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { EventDocument } from '../webhooks/index.ts';

export interface JetStreamTarget {
  servers: string[];
  stream: string;
  subjectPrefix: string;
  duplicateWindowMs: number;
  /** How long a connection attempt, and one publish's acknowledgement, may take. */
  timeoutMs: number;
}

export class JetStreamLink {
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;

  constructor(private readonly t: JetStreamTarget) {}

  /** Connects and makes sure the stream exists; throws when NATS does not answer. */
  async open(): Promise<void> {
    if (this.nc && !this.nc.isClosed()) return;
    // The client reconnects by itself once connected; the first connection is ours to retry.
    const nc = await connect({ servers: this.t.servers, timeout: this.t.timeoutMs, maxReconnectAttempts: -1, name: 'estafeta-event-stream' });
    try {
      const jsm = await jetstreamManager(nc, { timeout: this.t.timeoutMs });
      try {
        await jsm.streams.info(this.t.stream);
      } catch (err) {
        if (!/stream not found/i.test((err as Error).message)) throw err;
        await jsm.streams.add({ name: this.t.stream, subjects: [`${this.t.subjectPrefix}.>`], duplicate_window: this.t.duplicateWindowMs * 1_000_000 });
      }
      this.js = jetstream(nc, { timeout: this.t.timeoutMs });
      this.nc = nc;
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
  }

  subjectOf(type: string): string {
    return `${this.t.subjectPrefix}.${type}`;
  }

  /**
   * Publishes the documents in order on one connection (JetStream stores them in that order)
   * and waits for every acknowledgement. Returns how many JetStream took as duplicates.
   */
  async publish(docs: EventDocument[]): Promise<{ duplicates: number }> {
    const js = this.js;
    if (!js) throw new Error('the event stream is not connected to NATS');
    const acks = await Promise.all(docs.map((d) => js.publish(this.subjectOf(d.type), JSON.stringify(d), { msgID: String(d.id), expect: { streamName: this.t.stream } })));
    return { duplicates: acks.filter((a) => a.duplicate).length };
  }

  async close(): Promise<void> {
    const nc = this.nc;
    this.nc = null;
    this.js = null;
    // Not drain(): every publish was awaited already, and a drain can wait forever for a server that is down.
    if (nc) await nc.close().catch(() => {});
  }
}
