/**
 * PostgreSQL for the benchmark: a fresh schema in DATABASE_URL's database when it names
 * PostgreSQL (else the machine's server, postgres://postgres@127.0.0.1:5432/test), as
 * src/db/testing.ts makes for tests, dropped at the end; and the CPU time of the server's
 * backend processes that serve the run's connections, read from /proc. The connections are
 * found by their application_name, which the schema's URL sets, so other jobs using the same
 * server (tests, other benchmarks) are not counted. It does not count the server's shared
 * processes (WAL writer, checkpointer, autovacuum), nor a backend's last half second if it
 * ends between two looks: pg_stat_statements would need a restart of a shared server.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { createPostgresSchema } from '../../src/db/testing.ts';

export const DEFAULT_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchSchema {
  /** The URL Estafeta's processes use: the schema on their search path, a tagged application_name. */
  url: string;
  schema: string;
  /** Starts counting the CPU of the schema's backends; `stop` gives the milliseconds since. */
  trackBackends(): { stop(): Promise<{ cpuMs: number; backends: number }> };
  drop(): Promise<void>;
}

export function postgresBase(): string {
  const env = process.env.DATABASE_URL;
  return env && /^postgres(ql)?:\/\//.test(env) ? env : DEFAULT_POSTGRES;
}

/** Whether the server answers; the reason when it does not. */
export async function postgresMissing(base = postgresBase()): Promise<string | null> {
  const c = new pg.Client({ connectionString: base, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('select 1');
    return null;
  } catch (err) {
    return `${base}: ${(err as Error).message}`;
  } finally {
    await c.end().catch(() => {});
  }
}

export async function createBenchSchema(base = postgresBase()): Promise<BenchSchema> {
  const { schema, url: u } = await createPostgresSchema(base, 'bench_');
  u.searchParams.set('application_name', schema);
  return {
    url: u.toString(),
    schema,
    trackBackends() {
      const watcher = new pg.Client({ connectionString: base, application_name: `${schema}-watch` });
      const start = new Map<number, number>();
      const last = new Map<number, number>();
      let first = true;
      const look = async () => {
        const { rows } = await watcher.query('select pid from pg_stat_activity where application_name = $1', [schema]);
        for (const { pid } of rows as { pid: number }[]) {
          const ms = backendCpuMs(pid);
          if (ms === null) continue;
          // A backend already open when counting starts counts from then; one opened later, from its start.
          if (!start.has(pid)) start.set(pid, first ? ms : 0);
          last.set(pid, ms);
        }
        first = false;
      };
      const ready = watcher.connect().then(look);
      let stopped = false;
      const loop = (async () => {
        await ready;
        while (!stopped) {
          await new Promise((r) => setTimeout(r, 500));
          await look();
        }
      })();
      return {
        async stop() {
          stopped = true;
          await loop;
          await look();
          await watcher.end();
          let cpuMs = 0;
          for (const [pid, ms] of last) cpuMs += ms - (start.get(pid) ?? 0);
          return { cpuMs, backends: last.size };
        },
      };
    },
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    },
  };
}

function backendCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / 100) * 1000;
  } catch {
    return null; // not on this machine's /proc (a remote server), or it ended
  }
}
