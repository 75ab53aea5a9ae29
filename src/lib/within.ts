/**
 * Waits for a promise, or for a time limit, whichever comes first, and clears the timer
 * either way: a stop that waited for a thread with an uncleared timer kept the stopped
 * process alive until the limit (13 s after SIGTERM on PostgreSQL, for the webhook thread's).
 * Says whether the promise settled in time; does not reject.
 */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
