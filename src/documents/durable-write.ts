import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
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
 * read from when the kernel allows it (same filesystem, and still the same inode), else a copy.
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

/** False when linking is not possible here (another filesystem, protected_hardlinks) or the file changed. */
async function linkSynced(file: NonNullable<IncomingDocument['file']>, target: string): Promise<boolean> {
  const tmp = tempName(target);
  try {
    await link(file.path, tmp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EXDEV' || code === 'EPERM' || code === 'EACCES' || code === 'ENOENT' || code === 'EMLINK') return false;
    throw err;
  }
  try {
    // The name may have been pointed at another file since the bytes were read and hashed.
    const st = await lstat(tmp);
    if (st.dev !== file.dev || st.ino !== file.ino) {
      await unlink(tmp);
      return false;
    }
    // Asterisk may not have flushed what it wrote; make the shared data durable now.
    const handle = await open(tmp, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
    return true;
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
