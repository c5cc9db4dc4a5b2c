/**
 * Number patterns, shared by mail routes and web users' `--dids`: the digits exactly
 * (15559870000), digits then `*` (a prefix: 1555987*), or `*` alone (every number). Pure.
 */

export function isNumberPattern(pattern: string): boolean {
  return /^(\d+\*?|\*)$/.test(pattern);
}

/**
 * How specific a match is (longer wins; an exact pattern beats a prefix of the same digits),
 * or undefined when the pattern does not match the number's digits.
 */
export function matchStrength(pattern: string, number: string | null): number | undefined {
  const digits = (number ?? '').replace(/\D/g, '');
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    return digits.startsWith(prefix) ? prefix.length : undefined;
  }
  return digits === pattern ? pattern.length + 0.5 : undefined;
}

export function matchesAnyPattern(patterns: readonly string[], number: string | null): boolean {
  return patterns.some((p) => matchStrength(p, number) !== undefined);
}
