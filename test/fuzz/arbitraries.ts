/**
 * Building blocks shared by the fuzz targets: strings that break parsers (control
 * characters, CR/LF, NUL, lone surrogates, non-ASCII, long runs of one fragment that make
 * regular expressions backtrack) and mutations of a text made from a template.
 *
 * Sizes are bounded so an input costs microseconds to milliseconds, not seconds: a long
 * run is at most MAX_REPEAT_CHARS characters.
 */
import fc from 'fast-check';

export const MAX_REPEAT_CHARS = 20_000;

const SPECIAL = ['\r', '\n', '\r\n', '\t', ' ', '\0', '\u00a0', '\u2028', '\ufeff', '\ud800', '\udfff', 'é', '€', '𝄞', '"', "'", '\\', '<', '>', '@', ':', ';', ',', '=', '-', '.', '{', '}', '%', '|', '#', '/', '(', ')', '[', ']', '+', '*', '?', '^', '$'];

/** One character that often matters to a parser. */
export const specialChar = fc.constantFrom(...SPECIAL);

/** Short strings mixing ordinary text with special characters. */
export function nastyString(maxLength = 40): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength }) },
    { weight: 3, arbitrary: fc.array(fc.oneof(specialChar, fc.string({ maxLength: 4 })), { maxLength }).map((a) => a.join('')) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'0123456789.-_ '), maxLength }) },
  );
}

/** A fragment repeated many times: the input that makes a backtracking regex slow. */
export function longRun(fragments: string[] = []): fc.Arbitrary<string> {
  const fragment = fc.oneof(fc.constantFrom(' ', 'a', '5.', '1', '@', '-', '.', 'a@', '\n', ' \n', '{{', '{%', '"', 'x:', '=?', '--', ...fragments), fc.string({ minLength: 1, maxLength: 6 }));
  return fc.tuple(fragment, fc.integer({ min: 1, max: 4000 }), nastyString(6)).map(([f, n, tail]) => f.repeat(Math.min(n, Math.floor(MAX_REPEAT_CHARS / f.length))) + tail);
}

/** A text from `choices` with a few edits applied: the structured-but-broken input. */
export function mutated(base: fc.Arbitrary<string>, pieces: fc.Arbitrary<string>, maxEdits = 4): fc.Arbitrary<string> {
  const edit = fc.record({
    kind: fc.constantFrom('insert', 'delete', 'replace', 'truncate', 'duplicate'),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    length: fc.integer({ min: 0, max: 40 }),
    piece: pieces,
  });
  return fc.tuple(base, fc.array(edit, { maxLength: maxEdits })).map(([text, edits]) => {
    let s = text;
    for (const e of edits) {
      const i = Math.floor(e.at * s.length);
      if (e.kind === 'insert') s = s.slice(0, i) + e.piece + s.slice(i);
      else if (e.kind === 'delete') s = s.slice(0, i) + s.slice(i + e.length);
      else if (e.kind === 'replace') s = s.slice(0, i) + e.piece + s.slice(i + e.piece.length);
      else if (e.kind === 'truncate') s = s.slice(0, i);
      else s = s.slice(0, i) + s.slice(i, i + e.length).repeat(1 + (e.length % 7)) + s.slice(i);
    }
    return s;
  });
}

/** Values a JSON body or a CSV field may carry, with keys that attack objects. */
export const dangerousKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'email', '', ' ', 'a.b', '0', 'size', 'first', 'last', 'length');

export function jsonish(maxDepth = 3): fc.Arbitrary<unknown> {
  return fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth },
      nastyString(20),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.oneof(dangerousKey, fc.string({ maxLength: 8 })), tie('value'), { maxKeys: 4 }),
    ),
  })).value;
}

/**
 * True when a JSON value holds an object with its own `toString` that is not a function:
 * such an object throws "Cannot convert object to primitive value" wherever it is turned
 * into a string or a number (F3 in /work/notes/fuzz-findings.md).
 */
export function hasUnprintableObject(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object' || depth > 100) return false;
  if (!Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, 'toString') && typeof (value as { toString: unknown }).toString !== 'function') return true;
  return Object.values(value as Record<string, unknown>).some((v) => hasUnprintableObject(v, depth + 1));
}
