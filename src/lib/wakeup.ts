/**
 * A loop helper: run `step` repeatedly, sleeping `idleMs` when it reports no work, and waking
 * early when `wake()` is called. Used by the sender, MTA and feedback loops so that work
 * flows within milliseconds in one process and within `idleMs` across processes.
 */

export interface Loop {
  wake(): void;
  stop(): Promise<void>;
}

export function startLoop(
  step: () => Promise<boolean>,
  options: { idleMs: number; onError: (err: unknown) => void; errorBackoffMs?: number },
): Loop {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let resolveSleep: (() => void) | null = null;
  let woken = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken || stopped) {
        woken = false;
        return resolve();
      }
      resolveSleep = resolve;
      timer = setTimeout(() => {
        resolveSleep = null;
        resolve();
      }, ms);
    });

  const done = (async () => {
    while (!stopped) {
      let busy = false;
      try {
        busy = await step();
      } catch (err) {
        options.onError(err);
        await sleep(options.errorBackoffMs ?? 1000);
        continue;
      }
      if (!busy) await sleep(options.idleMs);
      else await new Promise((r) => setImmediate(r));
    }
  })();

  return {
    wake() {
      woken = true;
      if (resolveSleep) {
        if (timer) clearTimeout(timer);
        const r = resolveSleep;
        resolveSleep = null;
        woken = false;
        r();
      }
    },
    async stop() {
      stopped = true;
      this.wake();
      await done;
    },
  };
}
