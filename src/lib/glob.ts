/**
 * Glob patterns with * (any run of characters) and ? (one character), matched
 * case-insensitively against the whole string: how MX rules and domain masks are written.
 */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .trim()
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

export function matchesAny(value: string, patterns: RegExp[]): boolean {
  return patterns.some((p) => p.test(value));
}
