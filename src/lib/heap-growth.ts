/**
 * Keeps memory near the live data during bulk work (importing or analyzing a large target).
 *
 * Those passes allocate a great deal of short-lived data: parsed CSV rows, statements,
 * rendered messages. V8 lets the old generation grow to up to four times the live data
 * before collecting it, so a process holding 300 MB of live data peaked anywhere between
 * 0.7 and 1.6 GB from one million-recipient run to the next (bench/run.ts, scale run).
 * While a bulk pass runs, growth is capped at one and a half times the live data, which
 * kept the peak at 0.76 to 0.81 GB in every run since, for a few more major collections.
 * Outside them V8 chooses: sending allocates fast too, and the cap would make it spend more
 * of its time collecting. Not a heap limit: the heap still grows as far as the live data
 * needs. The setting is process-wide; overlapping passes share it.
 */
import { setFlagsFromString } from 'node:v8';

let active = 0;

export async function withBoundedHeapGrowth<T>(fn: () => Promise<T>): Promise<T> {
  // 0 is V8's default: a growth factor it picks from the heap size and the allocation rate.
  if (active++ === 0) setFlagsFromString('--heap-growing-percent=50');
  try {
    return await fn();
  } finally {
    if (--active === 0) setFlagsFromString('--heap-growing-percent=0');
  }
}
