/**
 * Retention: documents older than the configured days are removed from disk; their records stay,
 * marked `purged_at`, so the inbox still says that a fax came and what it was.
 */
import { readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { isNotFound } from '../documents/spool-file.js';
import type { Db } from '../store/db.js';

export interface RetentionResult {
  purged: number;
  copiesRemoved: number;
}

export async function purgeExpired(
  db: Db,
  o: { retentionDays: number; now: Date; logger: Logger; extraDirs?: readonly string[] },
): Promise<RetentionResult> {
  const cutoff = new Date(o.now.getTime() - o.retentionDays * 86_400_000).toISOString();
  const due = db
    .prepare<[string], { id: string; document_path: string }>(
      'SELECT id, document_path FROM inbox WHERE document_path IS NOT NULL AND purged_at IS NULL AND created_at < ?',
    )
    .all(cutoff);
  const mark = db.prepare('UPDATE inbox SET purged_at = ? WHERE id = ?');
  for (const row of due) {
    await unlink(row.document_path).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    mark.run(o.now.toISOString(), row.id);
  }
  // Copies made for a Faxbot target are ours too, and age the same way.
  let copiesRemoved = 0;
  for (const dir of o.extraDirs ?? []) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const file = path.join(dir, name);
      const st = await stat(file).catch(() => undefined);
      if (st?.isFile() && st.mtime.toISOString() < cutoff) {
        await unlink(file).catch(() => {});
        copiesRemoved++;
      }
    }
  }
  if (due.length || copiesRemoved) o.logger.info({ purged: due.length, copies_removed: copiesRemoved, cutoff }, 'retention.purged');
  return { purged: due.length, copiesRemoved };
}
