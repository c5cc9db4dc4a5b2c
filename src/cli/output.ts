/** How list commands print: aligned columns for people, one JSON object per line for scripts. */

export function printTable(header: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells: readonly (string | number)[]) => cells.map((c, i) => String(c).padEnd(widths[i]!)).join('  ').trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

/**
 * Says when a list is not everything: for people on stdout after the table, for `--json` on
 * stderr, so a script reading stdout still sees only records, and is told how to go on.
 */
export function printShown(shown: number, total: number, json: boolean, next: string | undefined): void {
  if (shown >= total) return;
  const how = next ? `next page: --cursor '${next}' (or --all)` : 'use --all for every one';
  (json ? console.error : console.log)(`showing ${shown} of ${total}; ${how}`);
}

export function or(value: string | number | null | undefined, none = '-'): string {
  return value === null || value === undefined || value === '' ? none : String(value);
}
