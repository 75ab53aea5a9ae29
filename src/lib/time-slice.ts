/**
 * Lets a long loop on the main thread give way to everything else that thread serves
 * (HTTP requests, the MTA's sessions, the bounce listener): after `sliceMs` of work, the
 * loop awaits one turn of the event loop (setImmediate), so timers and I/O run between
 * its steps. It does not make any single step shorter: a step must be bounded by itself.
 */
import { performance } from 'node:perf_hooks';

export interface TimeSlice {
  /** True once the current slice is used up: the loop should `await slice.yield()`. */
  due(): boolean;
  /** Gives the event loop one turn and starts a new slice. */
  yield(): Promise<void>;
}

export function timeSlice(sliceMs = 10): TimeSlice {
  let start = performance.now();
  return {
    due: () => performance.now() - start >= sliceMs,
    async yield() {
      await new Promise((resolve) => setImmediate(resolve));
      start = performance.now();
    },
  };
}
