import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { IncomingDocument } from '../domain/fax.js';

/**
 * Writes a file so that after a crash it is either absent or complete: temp file, fsync,
 * rename over the target, fsync the directory so the rename itself survives power loss.
 */
export async function writeFileDurable(target: string, data: Uint8Array | string, mode = 0o640): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  await writeSynced(target, data, mode);
  await syncDir(path.dirname(target));
}

/**
 * Keeps a document at `target` with its data on disk: a hard link to the file the bytes were
 * read from (and fsynced) when the kernel allows it (same filesystem, still the same inode),
 * else a copy.
 * The new directory entry is durable only after `syncDir(dirname(target))`, which the caller
 * runs once for a whole batch before committing the records that name these files.
 */
export async function pinDocument(document: IncomingDocument, target: string): Promise<'linked' | 'copied'> {
  if (document.file && (await linkSynced(document.file, target))) return 'linked';
  await writeSynced(target, document.bytes);
  return 'copied';
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes the temp files a crash left behind in `dir` (they are never named by a record). */
export async function removeTempFiles(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const stale = names.filter((n) => n.startsWith('.') && n.endsWith('.tmp'));
  await Promise.all(stale.map((n) => unlink(path.join(dir, n)).catch(() => {})));
  return stale.length;
}

function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

async function writeSynced(target: string, data: Uint8Array | string, mode = 0o640): Promise<void> {
  const tmp = tempName(target);
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await handle.close();
  await rename(tmp, target);
}

/**
 * False when linking is not possible here (another filesystem, protected_hardlinks, too many
 * links) or the name now points at another file. The file's data was fsynced when it was read
 * (`readSpoolFile(..., { sync: true })`): a link adds only a directory entry.
 */
async function linkSynced(file: NonNullable<IncomingDocument['file']>, target: string): Promise<boolean> {
  let linked = target;
  try {
    await link(file.path, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      // A crashed attempt, or the same fax twice at once: link beside it, then rename over.
      linked = tempName(target);
      return linkSynced(file, linked).then(async (ok) => ok && (await rename(linked, target), true));
    }
    if (code === 'EXDEV' || code === 'EPERM' || code === 'EACCES' || code === 'ENOENT' || code === 'EMLINK') return false;
    throw err;
  }
  // The name may have been pointed at another file since the bytes were read and hashed.
  const st = await lstat(linked);
  if (st.dev !== file.dev || st.ino !== file.ino) {
    await unlink(linked);
    return false;
  }
  return true;
}
