/**
 * Findings that are already reported and owned by another engineer (issue 11): a target
 * that meets one counts it here instead of failing, so the run goes on to its million
 * inputs and the report says how often each known bug was hit. A finding is removed from
 * the targets once its fix lands; then meeting it again is an ordinary failure.
 */
const counts = new Map<string, number>();

/** Counts one input that shows the known finding `id`. */
export function known(id: string): void {
  counts.set(id, (counts.get(id) ?? 0) + 1);
}

/** The counts since the last call, and resets them. */
export function takeKnown(): Record<string, number> {
  const out = Object.fromEntries(counts);
  counts.clear();
  return out;
}
