/** bench/RESULTS.md: each script rewrites only its own sections; the notes around them are by hand. */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench');
export const RESULTS = path.join(benchDir, 'RESULTS.md');

/** Scratch space on the same disk as a real data dir (not a tmpfs, where fsync is free). */
export function scratchDir(): string {
  return process.env['BENCH_DIR'] ?? path.join(benchDir, '.tmp');
}

export async function replaceSection(name: string, body: string): Promise<void> {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  let text = existsSync(RESULTS) ? await readFile(RESULTS, 'utf8') : '# faxbridge benchmarks\n';
  const block = `${start}\n${body.trim()}\n${end}`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  text = a !== -1 && b > a ? text.slice(0, a) + block + text.slice(b + end.length) : `${text.trimEnd()}\n\n## ${name}\n\n${block}\n`;
  await writeFile(RESULTS, text);
}
