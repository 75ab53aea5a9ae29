/**
 * The MTA processes sharing one spool, as each of them sees it: every process writes a
 * heartbeat in the database and counts the processes whose heartbeat is recent. An MX rule
 * speaks for the whole platform, so each process takes an even share of its rates and
 * connection limits: two processes each send to a site at half its rule's rate. A process
 * that stops leaves at once; one that dies stops counting when its heartbeat is stale, and
 * until then the others send below the rule. A process that starts counts the others at
 * once, but they count it only at their next heartbeat: until then it holds back (claims
 * nothing), so that the total stays within the rule.
 *
 * Not here: the rates themselves (the shaper), which messages a process claims (the spool).
 */
import type { Db, Q } from '../../db/index.ts';

export interface PeersOptions {
  /** How often a process writes its heartbeat. */
  beatMs: number;
  /** A heartbeat older than this is a process that died. */
  staleMs: number;
}

export const DEFAULT_PEERS: PeersOptions = { beatMs: 5_000, staleMs: 20_000 };

export class MtaPeers {
  private alive = 1;
  private lastBeat = 0;
  private readonly startedAt: number;

  constructor(
    private readonly db: Db,
    readonly owner: string,
    private readonly options: PeersOptions = DEFAULT_PEERS,
    now = Date.now(),
  ) {
    this.startedAt = now;
  }

  /** The MTA processes alive at the last heartbeat, this one included. */
  get count(): number {
    return this.alive;
  }

  /** This process's share of every MX rule's rates and connections. */
  get share(): number {
    return 1 / this.alive;
  }

  /** A newcomer among live processes that have not counted it yet (before their next heartbeat). */
  get holding(): boolean {
    return this.alive > 1 && this.lastBeat - this.startedAt < this.options.beatMs;
  }

  /** Writes the heartbeat when it is due (always with `force`) and counts the live processes. */
  async beat(now = Date.now(), force = false): Promise<boolean> {
    if (!force && now - this.lastBeat < this.options.beatMs) return false;
    this.lastBeat = now;
    // A heartbeat needs no disk flush: one lost in a power cut is written again 5 s later.
    await this.db.volatile((q) =>
      q
        .insertInto('mta_processes')
        .values({ owner: this.owner, started_at: this.startedAt, heartbeat_at: now })
        .onConflict((oc) => oc.column('owner').doUpdateSet({ heartbeat_at: now }))
        .execute(),
    );
    // Rows of processes long dead would otherwise stay forever.
    await this.db.volatile((q) => q.deleteFrom('mta_processes').where('heartbeat_at', '<', now - 3_600_000).execute());
    this.alive = Math.max(1, await countLiveMtaProcesses(this.db.kysely, now, this.options.staleMs));
    return true;
  }

  /** With one MTA process per database (SQLite), rows of others are of runs that died. */
  async forgetOthers(): Promise<void> {
    await this.db.kysely.deleteFrom('mta_processes').where('owner', '!=', this.owner).execute();
  }

  /** This process stops: the others take its share at their next heartbeat. */
  async leave(): Promise<void> {
    await this.db.kysely.deleteFrom('mta_processes').where('owner', '=', this.owner).execute();
  }
}

/** The MTA processes whose heartbeat is recent (what the API shows, from any process). */
export async function countLiveMtaProcesses(q: Q, now = Date.now(), staleMs = DEFAULT_PEERS.staleMs): Promise<number> {
  const r = await q
    .selectFrom('mta_processes')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('heartbeat_at', '>=', now - staleMs)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}
