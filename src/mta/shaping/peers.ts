/**
 * The MTA processes sharing one spool, and how they split the MX rules. An MX rule speaks
 * for the whole platform, so the processes split each site's rates and connections, and the
 * split follows the work: every second each process writes a heartbeat with, per site, the
 * messages it holds ready (its demand), the share of the rule's rates it takes and the
 * connections it may open. A process's part of a site is its demand over the demand of all
 * live processes for that site (with a floor, so that a few messages beside a large backlog
 * still move), a process with nothing for a site takes none of it, and one alone with work
 * for a site takes all of it.
 *
 * The sum never exceeds the rule, even while demands change: what a process writes is an
 * upper bound of what it uses (it lowers its use before it writes a lower part, and raises
 * it only after the write has committed; open connections count until they close), and a
 * process takes at most what the others' written parts leave free, reading and writing under
 * one lock (PostgreSQL advisory lock), so two processes never take the same free part. A
 * process that wants more than is free gets it at a later heartbeat, once the others have
 * seen its demand and lowered theirs, and written that their connections above it closed:
 * within a few heartbeats (seconds). A process that stops
 * leaves at once; one that dies keeps its part until its heartbeat is stale (20 s), and until
 * then the others send below the rule.
 *
 * Not here: the rates themselves (the shaper), which messages a process claims (the spool);
 * adaptations and warm-up counts, shared through their own tables.
 */
import { sql } from 'kysely';
import type { Db, Q } from '../../db/index.ts';

export interface PeersOptions {
  /** A heartbeat older than this is a process that died. */
  staleMs: number;
}

export const DEFAULT_PEERS: PeersOptions = { staleMs: 20_000 };

/** What this process may use of one site's MX rule. */
export interface Allocation {
  /** Share of the rule's rates, 0..1. */
  share: number;
  /** Connections per path (sending IP × MX IP), out of `outOf`. */
  connections: number;
  /** The site's connections per path the part was split from: the rule's, under the site's throttle at that heartbeat. */
  outOf: number;
}

/** What this process has for one site: messages held ready, the rule's connections under the site's throttle, the connections open now (per path, the most). */
export interface SiteNeed {
  demand: number;
  maxConnections: number;
  open: number;
}

/** What a process wrote with its heartbeat, per site: [demand, share, connections]. */
export type Published = Record<string, [number, number, number]>;

/** A process with work for a site gets at least this part of the site's demand in weight. */
export const DEMAND_FLOOR = 0.05;

const NONE: Allocation = { share: 0, connections: 0, outOf: 0 };
/** One lock for every heartbeat that allocates (PostgreSQL): read the others' parts, write one's own. */
const LOCK_KEY = 7_305_015;

/**
 * How one site's rule splits between the processes with messages for it, from their demands:
 * the same answer from any of them given the same demands. Each process that gets a share
 * gets at least one connection, so at most maxConnections processes get one (the largest
 * demands, then by name); the connections left go by share, rounding down and then to the
 * largest remainders, so they add up to maxConnections exactly.
 */
export function split(demands: { owner: string; demand: number }[], maxConnections: number): Map<string, Allocation> {
  const out = new Map<string, Allocation>();
  const withWork = demands.filter((d) => d.demand > 0).sort((a, b) => b.demand - a.demand || (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0));
  const kept = withWork.slice(0, Math.max(0, maxConnections));
  for (const d of demands) out.set(d.owner, NONE);
  if (!kept.length) return out;
  const total = kept.reduce((n, d) => n + d.demand, 0);
  const weights = kept.map((d) => Math.max(d.demand, DEMAND_FLOOR * total));
  const sum = weights.reduce((n, w) => n + w, 0);
  const shares = weights.map((w) => roundDown(w / sum));
  const extra = maxConnections - kept.length;
  const ideal = shares.map((s) => s * extra);
  const conns = ideal.map((x) => 1 + Math.floor(x));
  let left = maxConnections - conns.reduce((n, c) => n + c, 0);
  const byRemainder = ideal.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left <= 0) break;
    conns[i]++;
    left--;
  }
  kept.forEach((d, i) => out.set(d.owner, { share: shares[i], connections: conns[i], outOf: maxConnections }));
  return out;
}

/**
 * This process's part of each site it has messages or connections for, given what the other
 * live processes wrote: its part of the split, but no more than the others leave free.
 * `publish` is what it writes: its part, with connections still open counted until they close.
 */
export function allocate(owner: string, needs: Map<string, SiteNeed>, others: { owner: string; published: Published }[]): { use: Map<string, Allocation>; publish: Published } {
  const use = new Map<string, Allocation>();
  const publish: Published = {};
  for (const [site, need] of needs) {
    let a: Allocation;
    if (!others.length) {
      // Alone: nobody else sends to any site.
      a = { share: 1, connections: need.maxConnections, outOf: need.maxConnections };
    } else {
      const demands = [{ owner, demand: need.demand }];
      let taken = 0;
      let open = 0;
      for (const o of others) {
        const p = o.published[site];
        if (!p) continue;
        demands.push({ owner: o.owner, demand: p[0] });
        taken += p[1];
        open += p[2];
      }
      const wanted = split(demands, need.maxConnections).get(owner) ?? NONE;
      const share = Math.min(wanted.share, roundDown(Math.max(0, 1 - taken)));
      const connections = Math.min(wanted.connections, Math.max(0, need.maxConnections - open));
      // A share without a connection, or connections without a share, would only keep them from the others.
      a = share > 0 && connections > 0 ? { share, connections, outOf: need.maxConnections } : NONE;
    }
    use.set(site, a);
    publish[site] = [need.demand, a.share, Math.max(a.connections, need.open)];
  }
  return { use, publish };
}

export class MtaPeers {
  private alive = 1;
  private unseen = false;
  private left = false;
  private allocations = new Map<string, Allocation>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly startedAt: number;

  /** @param needs what this process has per site, read at each heartbeat */
  constructor(
    private readonly db: Db,
    readonly owner: string,
    private readonly needs: () => Map<string, SiteNeed>,
    private readonly options: PeersOptions = DEFAULT_PEERS,
    now = Date.now(),
  ) {
    this.startedAt = now;
  }

  /** The MTA processes alive at the last heartbeat, this one included. */
  get count(): number {
    return this.alive;
  }

  /** Some live process has not written a heartbeat since this one started (it has not counted it yet). */
  get holding(): boolean {
    return this.unseen;
  }

  /** This process's part of a site's rule; none before a heartbeat allocated one. */
  allocation(site: string): Allocation {
    return this.allocations.get(site) ?? NONE;
  }

  /** A heartbeat has allocated this site (possibly nothing of it). */
  has(site: string): boolean {
    return this.allocations.has(site);
  }

  /** Writes the heartbeat with this process's demands and takes its part of every site. One at a time. */
  beat(now = Date.now()): Promise<void> {
    const run = this.chain.then(() => this.beatOnce(now));
    this.chain = run.catch(() => {});
    return run;
  }

  private async beatOnce(now: number): Promise<void> {
    if (this.left) return;
    const pg = this.db.dialect === 'postgres';
    const step = async (q: Q) => {
      if (pg) await sql`select pg_advisory_xact_lock(${LOCK_KEY})`.execute(q);
      const rows = await q.selectFrom('mta_processes').select(['owner', 'heartbeat_at', 'shares']).where('heartbeat_at', '>=', now - this.options.staleMs).where('owner', '!=', this.owner).execute();
      const others = rows.map((r) => ({ owner: r.owner, heartbeatAt: Number(r.heartbeat_at), published: parsePublished(r.shares) }));
      const { use, publish } = allocate(this.owner, this.needs(), others);
      // Lower now what goes down: the others read what is written as an upper bound of what this process uses.
      const lowered = new Map<string, Allocation>();
      for (const [site, a] of use) {
        const old = this.allocations.get(site) ?? NONE;
        lowered.set(site, { share: Math.min(old.share, a.share), connections: Math.min(old.connections, a.connections), outOf: a.outOf });
      }
      this.allocations = lowered;
      // A heartbeat needs no disk flush: one lost in a power cut is written again a second later.
      await q
        .insertInto('mta_processes')
        .values({ owner: this.owner, started_at: this.startedAt, heartbeat_at: now, shares: JSON.stringify(publish) })
        .onConflict((oc) => oc.column('owner').doUpdateSet({ heartbeat_at: now, shares: JSON.stringify(publish) }))
        .execute();
      // Rows of processes long dead would otherwise stay forever.
      await q.deleteFrom('mta_processes').where('heartbeat_at', '<', now - 3_600_000).execute();
      return { use, others };
    };
    const { use, others } = pg ? await this.db.tx((trx) => step(trx)) : await this.db.volatile(step);
    if (this.left) return;
    // Committed: the others now see this process's part, it may use it.
    this.allocations = use;
    this.alive = others.length + 1;
    this.unseen = others.some((o) => o.heartbeatAt < this.startedAt);
  }

  /** With one MTA process per database (SQLite), rows of others are of runs that died. */
  async forgetOthers(): Promise<void> {
    await this.db.kysely.deleteFrom('mta_processes').where('owner', '!=', this.owner).execute();
  }

  /** This process stops: the others take its part at their next heartbeat. */
  async leave(): Promise<void> {
    this.left = true;
    await this.chain;
    this.allocations = new Map();
    await this.db.kysely.deleteFrom('mta_processes').where('owner', '=', this.owner).execute();
  }
}

function parsePublished(json: string): Published {
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === 'object' ? (v as Published) : {};
  } catch {
    return {};
  }
}

/** Shares are rounded down to a millionth, so that adding them up never passes 1 by rounding. */
function roundDown(x: number): number {
  return Math.floor(x * 1e6) / 1e6;
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
