/**
 * Finds the settings in a config file that the schema does not know (`databse:`, `prot:`),
 * each with the nearest valid name, so a misspelling stops the start instead of silently
 * running on the defaults. Walks the zod schema's object shapes; values inside records
 * and arrays are the schema's business, not this check's.
 */
import type { z } from 'zod';

export interface UnknownKey {
  path: string;
  suggestion: string | null;
}

type Node = { _zod: { def: { type: string; innerType?: Node; shape?: Record<string, Node> } }; shape?: Record<string, Node> };

function unwrap(schema: Node): Node {
  let node = schema;
  while (node._zod.def.innerType) node = node._zod.def.innerType;
  return node;
}

export function unknownKeys(schema: z.ZodType, value: unknown, prefix = ''): UnknownKey[] {
  const node = unwrap(schema as unknown as Node);
  const shape = node.shape;
  if (!shape || value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const out: UnknownKey[] = [];
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (Object.prototype.hasOwnProperty.call(shape, key)) out.push(...unknownKeys(shape[key] as unknown as z.ZodType, child, path));
    else out.push({ path, suggestion: nearest(key, Object.keys(shape)) });
  }
  return out;
}

/** The closest name within a distance that still reads as a typo, else null. */
export function nearest(word: string, names: string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const name of names) {
    const d = distance(word.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : null;
}

/** Levenshtein distance with adjacent transpositions (optimal string alignment). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
