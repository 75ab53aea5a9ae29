/**
 * Durations written the way operators write them: "30s", "5m", "3.5d", "1h30m", or a
 * number of seconds. Parsing only; no clocks here.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses a duration into milliseconds. Throws with a message that shows the accepted forms. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new Error(`invalid duration ${input}: expected a non-negative number of seconds`);
    return Math.round(input * 1000);
  }
  const text = input.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const parts = text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/g);
  let total = 0;
  let consumed = '';
  for (const p of parts) {
    total += Number(p[1]) * UNIT_MS[p[2]];
    consumed += p[0];
  }
  if (!consumed || consumed.replace(/\s/g, '') !== text.replace(/\s/g, '')) {
    throw new Error(`invalid duration "${input}": use a number of seconds or forms like "90s", "5m", "1h30m", "3.5d"`);
  }
  return Math.round(total);
}
