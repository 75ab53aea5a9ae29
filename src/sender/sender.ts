/**
 * The sender: turns confirmed deliveries into MTA messages. For each delivery it works on
 * (one sender at a time per delivery, by lease) it acknowledges operator requests (pause,
 * resume, stop) by holding, releasing or dropping the delivery's messages in the MTA, and
 * otherwise personalizes the next batch of Pending logs, builds their MIME and hands them
 * to the MTA spool in the same transaction that marks the logs "Taken into account by the
 * service provider". It keeps at most `window` messages of a delivery inside the MTA, so the
 * spool (and disk) stays bounded however large the delivery. It finishes a delivery when no
 * log is waiting any more, and cancels what is still Pending when the validity period ends.
 */
import { sql } from 'kysely';
import type { Db, Q } from '../db/index.ts';
import { randomToken } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { startLoop, type Loop } from '../lib/wakeup.ts';
import { timeSlice } from '../lib/time-slice.ts';
import { acknowledgePause, acknowledgeStop, audit, cancelPendingLogs, counter, failUnbuiltLogs, DeliveryState, finishDelivery, getCounters, getDeliveryRow, leaseDelivery, LogStatus, releaseDeliveryLeases, startSending, recordLinks, takeLogs, type DeliveryRow } from '../deliveries/index.ts';
import { Hold, type InjectMessage } from '../mta/index.ts';
import type { Emitter } from '../lib/signals.ts';
import { composeMessage, prepareDelivery, type ComposeSettings, type PreparedDelivery } from './compose.ts';

/** Signs built messages (DKIM) before they are spooled; returns them signed, in order. */
export interface MessageSigner {
  sign(messages: InjectMessage[], fromDomain: string): Promise<InjectMessage[]>;
}

/** What the sender does with the MTA's spool: hand messages over, and hold or release a delivery's. */
export interface SpoolPort {
  enqueue(q: Q, messages: InjectMessage[]): Promise<void>;
  setDeliveryHold(q: Q, deliveryId: number, held: Hold): Promise<number>;
}

/** The signals the sender emits. */
export interface SenderSignals {
  /** The spool changed for a delivery: messages handed over, released or stopped (the MTA listens). */
  'spool:changed': { deliveryId: number; change: 'filled' | 'released' | 'stopped' };
}

export interface SenderOptions {
  db: Db;
  logger: Logger;
  signer: MessageSigner;
  spool: SpoolPort;
  signals?: Emitter<SenderSignals>;
  compose: ComposeSettings;
  batchSize: number;
  window: number;
  pollMs?: number;
  leaseMs?: number;
}

/** Batches of one delivery being signed and handed over at once, so the signing threads never wait for the main thread. */
const PIPELINE = 3;

interface Flight {
  batches: Set<Promise<void>>;
  /** The last log id taken by a batch in flight. */
  cursor: number;
  /** Logs in batches in flight. */
  logs: number;
  /** A batch's failure, raised on the next step so the loop backs off. */
  error: Error | null;
}

const ACTIVE_STATES = [DeliveryState.StartPending, DeliveryState.InProgress, DeliveryState.PauseRequested, DeliveryState.StopRequested];

export class Sender {
  readonly owner = `sender-${randomToken(6)}`;
  private loop: Loop | null = null;
  private readonly prepared = new Map<number, PreparedDelivery>();
  /** Deliveries this sender holds, and until when. */
  private readonly leases = new Map<number, number>();
  private readonly flights = new Map<number, Flight>();

  constructor(private readonly o: SenderOptions) {}

  start(): void {
    this.loop = startLoop(() => this.step(), { idleMs: this.o.pollMs ?? 250, onError: (err) => this.o.logger.error({ err }, 'sender loop failed') });
  }

  wake(): void {
    this.loop?.wake();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
    await Promise.all([...this.flights.values()].flatMap((f) => [...f.batches]));
    await releaseDeliveryLeases(this.o.db.kysely, this.owner);
    this.leases.clear();
  }

  /** One pass over the active deliveries; true when a batch was sent (more may follow). */
  async step(): Promise<boolean> {
    const now = Date.now();
    const rows = await this.o.db.kysely.selectFrom('deliveries').select(['id']).where('state', 'in', ACTIVE_STATES).orderBy('id').execute();
    let busy = false;
    for (const { id } of rows) {
      if (!(await this.lease(Number(id), now))) continue;
      busy = (await this.work(Number(id))) || busy;
    }
    return busy;
  }

  private async lease(id: number, now: number): Promise<boolean> {
    const leaseMs = this.o.leaseMs ?? 30_000;
    // A lease this sender holds with most of its time left needs no write (each write is a commit).
    const held = this.leases.get(id);
    if (held !== undefined && held - now > leaseMs / 2) return true;
    const ok = await leaseDelivery(this.o.db.kysely, id, this.owner, now, leaseMs);
    if (ok) this.leases.set(id, now + leaseMs);
    else this.leases.delete(id);
    return ok;
  }

  private async work(id: number): Promise<boolean> {
    const { db, spool } = this.o;
    const row = await getDeliveryRow(db.kysely, id);
    const now = Date.now();
    switch (row.state) {
      case DeliveryState.StartPending:
        await db.tx(async (trx) => {
          await spool.setDeliveryHold(trx, id, Hold.Sendable);
          await startSending(trx, row, now);
        });
        this.o.signals?.emit('spool:changed', { deliveryId: id, change: 'released' });
        return true;
      case DeliveryState.PauseRequested:
        await db.tx(async (trx) => {
          await spool.setDeliveryHold(trx, id, Hold.Paused);
          await acknowledgePause(trx, id);
        });
        return false;
      case DeliveryState.StopRequested:
        await db.tx(async (trx) => {
          await spool.setDeliveryHold(trx, id, Hold.Stopped);
          await acknowledgeStop(trx, id);
        });
        this.o.signals?.emit('spool:changed', { deliveryId: id, change: 'stopped' });
        return false;
      case DeliveryState.InProgress:
        // A stream's messages arrive one by one through the send API, Taken at once: it has no
        // Pending logs to send and is never done (it never finishes).
        if (row.kind === 'stream') return false;
        return this.progress(row, now);
      default:
        return false;
    }
  }

  private async progress(row: DeliveryRow, now: number): Promise<boolean> {
    const id = Number(row.id);
    const counters = await getCounters(this.o.db.kysely, id);
    let pending = counter(counters, LogStatus.Pending);
    const taken = counter(counters, LogStatus.Taken);
    if (pending > 0 && row.valid_until !== null && now >= Number(row.valid_until)) {
      // Campaign's cleanup: logs never handed over before the validity end are cancelled.
      await this.o.db.tx(async (trx) => {
        await cancelPendingLogs(trx, id);
        await audit(trx, id, 'system', 'validity-ended', { cancelled: pending });
      });
      pending = 0;
    }
    if (pending === 0 && taken === 0) {
      await this.o.db.tx((trx) => finishDelivery(trx, id, now));
      this.prepared.delete(id);
      this.flights.delete(id);
      return false;
    }
    const inMta = taken + (this.flights.get(id)?.logs ?? 0);
    if (pending === 0 || inMta >= this.o.window) return false;
    return this.sendBatch(row, Math.min(this.o.batchSize, this.o.window - inMta));
  }

  /**
   * Starts the next batch of a delivery's Pending logs: composed here, then signed in the
   * workers and handed to the MTA in the background, while the next batches are composed.
   * Batches in flight take logs after the last one taken (a cursor), so none is taken twice;
   * logs a batch could not hand over are Pending still and come back once nothing is in flight.
   */
  private async sendBatch(row: DeliveryRow, size: number): Promise<boolean> {
    const { db } = this.o;
    const id = Number(row.id);
    const flight = this.flightOf(id);
    if (flight.error) {
      const err = flight.error;
      flight.error = null;
      throw err;
    }
    if (flight.batches.size >= PIPELINE) {
      await Promise.race(flight.batches);
      return true;
    }
    let prepared = this.prepared.get(id);
    if (!prepared || prepared.version !== row.content_version) {
      prepared = prepareDelivery(row);
      // The links are recorded before any message that carries them leaves.
      const links = prepared.links;
      await db.tx((trx) => recordLinks(trx, id, links));
      this.prepared.set(id, prepared);
    }
    const cursor = flight.batches.size ? flight.cursor : 0;
    const logs = await db.kysely.selectFrom('delivery_logs').select(['id', 'row_no', 'address']).where('delivery_id', '=', id).where('status', '=', LogStatus.Pending).where('id', '>', cursor).orderBy('id').limit(size).execute();
    if (!logs.length) {
      if (!flight.batches.size) return false;
      await Promise.race(flight.batches);
      return true;
    }
    flight.cursor = Number(logs[logs.length - 1].id);
    const targets = await db.kysely.selectFrom('delivery_targets').select(['row_no', 'data']).where('delivery_id', '=', id).where('row_no', 'in', logs.map((l) => l.row_no)).execute();
    const dataByRow = new Map(targets.map((t) => [t.row_no, t.data]));
    // Rendering runs on the main thread, which the MTA and the bounce listener share: a batch
    // gives the event loop a turn every few milliseconds (each render is bounded by itself).
    const composed = [];
    const unbuilt: { logId: number; problem: string }[] = [];
    const slice = timeSlice();
    for (const l of logs) {
      if (slice.due()) await slice.yield();
      try {
        composed.push(composeMessage(prepared, this.o.compose, Number(l.id), l.address, JSON.parse(dataByRow.get(l.row_no) ?? '{}')));
      } catch (err) {
        // One message that cannot be built fails alone; the batch goes on without it.
        unbuilt.push({ logId: Number(l.id), problem: `the message could not be built: ${(err as Error).message}` });
      }
    }
    if (unbuilt.length) {
      await db.tx((trx) => failUnbuiltLogs(trx, id, unbuilt, Date.now()));
      this.o.logger.warn({ deliveryId: id, failed: unbuilt.length, first: unbuilt[0].problem }, 'messages that could not be built were failed');
    }
    const messages: InjectMessage[] = composed.map((c) => ({ logId: c.logId, deliveryId: id, mailFrom: c.mailFrom, rcptTo: c.rcptTo, messageId: c.messageId, body: c.body, expiresAt: prepared!.validUntil, pool: row.ip_pool }));
    flight.logs += logs.length;
    const batch: Promise<void> = this.handOver(id, messages, prepared.fromDomain)
      .catch((err) => {
        flight.error = err as Error;
      })
      .finally(() => {
        flight.batches.delete(batch);
        flight.logs -= logs.length;
        this.wake();
      });
    flight.batches.add(batch);
    return true;
  }

  /** Signs a batch and hands it to the MTA in the transaction that marks its logs taken. */
  private async handOver(id: number, composed: InjectMessage[], fromDomain: string): Promise<void> {
    const { db, signer, spool } = this.o;
    const messages = await signer.sign(composed, fromDomain);
    const handed = await db.tx(async (trx) => {
      // Re-read the state under lock: a pause or stop committed since must not be overtaken.
      const state = await lockState(db, trx, id);
      if (state !== DeliveryState.InProgress) return 0;
      const now = Date.now();
      // Only logs still Pending go to the MTA: the validity end may have cancelled some while
      // this batch was being signed.
      const ids = await takeLogs(trx, id, messages.map((m) => m.logId!), now);
      await spool.enqueue(trx, messages.filter((m) => ids.has(m.logId!)));
      return ids.size;
    });
    if (handed) this.o.signals?.emit('spool:changed', { deliveryId: id, change: 'filled' });
  }

  private flightOf(id: number): Flight {
    let f = this.flights.get(id);
    if (!f) this.flights.set(id, (f = { batches: new Set(), cursor: 0, logs: 0, error: null }));
    return f;
  }
}

async function lockState(db: Db, trx: Q, id: number): Promise<number | undefined> {
  if (db.dialect === 'postgres') {
    const r = await sql<{ state: number }>`select state from deliveries where id = ${id} for update`.execute(trx);
    return r.rows[0]?.state;
  }
  return (await trx.selectFrom('deliveries').select('state').where('id', '=', id).executeTakeFirst())?.state;
}
