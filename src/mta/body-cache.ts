/**
 * Message bodies this process just wrote to the spool, kept for a short while so that its own
 * MTA, claiming them moments later, need not read them back from the database. On PostgreSQL
 * reading a 10 KB body back costs the server its detoasting and hex encoding and the process
 * 20 KB of hex text to parse (docs/PERFORMANCE.md, "Statements per message on PostgreSQL");
 * on SQLite the read is a call into pages already in memory, so it is used on PostgreSQL only,
 * where spool ids come from a sequence and are never given out twice.
 *
 * A body is taken at most once, and only for the row it was written for (same recipient,
 * Message-ID and size); anything else, or a body no longer here, is read from the database as
 * before. It holds at most `maxBytes`, admitting a body only while there is room (the MTA
 * claims the oldest first, so those are the ones worth keeping), and forgets bodies older than
 * `maxAgeMs`: another node may have claimed them, or they wait for a retry.
 */

interface Entry {
  rcptTo: string;
  messageId: string | null;
  body: Buffer;
  at: number;
}

export class SpoolBodyCache {
  private readonly entries = new Map<number, Entry>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly maxBytes = 32 * 1024 * 1024,
    private readonly maxAgeMs = 60_000,
  ) {}

  /** Remembers a body just spooled under `id`, if there is room. */
  put(id: number, rcptTo: string, messageId: string | null, body: Buffer, now = Date.now()): void {
    this.expire(now);
    if (this.bytes + body.length > this.maxBytes || this.entries.has(id)) return;
    this.entries.set(id, { rcptTo, messageId, body, at: now });
    this.bytes += body.length;
  }

  /** The body of a claimed row, if this process spooled it and still has it; forgotten once taken. */
  take(row: { id: number; rcptTo: string; messageId: string | null; size: number }): Buffer | undefined {
    const e = this.entries.get(row.id);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.forget(row.id, e);
    if (e.rcptTo !== row.rcptTo || e.messageId !== row.messageId || e.body.length !== row.size) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return e.body;
  }

  get size(): number {
    return this.entries.size;
  }

  private forget(id: number, e: Entry): void {
    this.entries.delete(id);
    this.bytes -= e.body.length;
  }

  /** Entries are in insertion order, so the old ones are at the front. */
  private expire(now: number): void {
    for (const [id, e] of this.entries) {
      if (now - e.at < this.maxAgeMs) break;
      this.forget(id, e);
    }
  }
}
